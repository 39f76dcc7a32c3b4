"""Developer tools that run from a checkout and are not part of the runtime package ``unet``:

- ``python -m tools.stress``: reliability checks of the running app (``stress_load.py`` holds its
  load checks, ``attacks.py`` what a hostile script can do (``--attacks``), ``appclient.py`` its
  client of the app's API);
- ``python -m tools.frequency_presets``: builds the frequency-ordered character lists in
  ``unet/engine/data`` (wordfreq + OpenCC, dev-only);
- ``python -m tools.font_sample``: the README's picture of text set in exported fonts;
- ``python tools/deploy_space.py USER/NAME``: deploy the demo to a Hugging Face Space;
- ``tools/pack_best.py`` and ``tools/gpu_train.sh``: GPU training runs and packing their best weights;
- ``python -m tools.finetune_ablation``: the same-budget fine-tuning ablation and its table;
- ``python -m tools.dither_diagnosis``: why a checkpoint dithers (normalisation suspects, period-2 energy);
- ``python -m tools.defect_sheet``: a model's worst glyphs before and after a change;
- ``python -m tools.card_samples``: the model card's sample sheets.
"""
