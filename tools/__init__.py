"""Developer tools that run from a checkout and are not part of the runtime package ``unet``:
``python -m tools.stress`` (reliability checks of the running app), ``tools/pack_best.py`` and
``tools/gpu_train.sh``."""
