"""Glyph quality side by side: ``python -m benchmarks.glyph_quality [--compare OLD] [--sample 400]``.

For the shipped checkpoint (or ``--checkpoint``) and, with ``--compare``, a second one (the model it
replaced: ``git show`` an older commit's checkpoint into a folder), per style:

- held-out characters (the checkpoint's ``heldout_chars.txt``, never trained on): SSIM against
  the real font, dithered, textured and broken-stroke rates (``unet.train.metrics``);
- a fixed random sample of GB2312 level-1 characters (seen and unseen alike): dithered and
  textured rates;
- the real font's own rates on the same characters: the floor (~0);
- the forward time per glyph (8-glyph batches, one thread, as app.py runs), both models
  interleaved round-robin, so the ratio holds on a busy machine.

Prints one markdown table (one run).
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch

from unet import Stylizer
from unet.engine.charsets import gb2312_level1
from unet.train.metrics import defect_metrics, glyph_metrics

from .measure import interleaved, md_table, num_threads, p50


def as_array(images) -> np.ndarray:
    return np.stack([np.asarray(im.convert("L"), dtype=np.float32) / 255 for im in images])


def draw(stylizer: Stylizer, chars: str, style: str, with_target: bool):
    """(generated, real or None) arrays for any number of characters."""
    gen, real = [], []
    for i in range(0, len(chars), stylizer.max_chars):
        g = stylizer.generate(chars[i:i + stylizer.max_chars], style, with_target=with_target)
        gen += g.generated
        real += g.target
    has_real = with_target and all(r is not None for r in real)
    return as_array(gen), (as_array(real) if has_real else None)


def per_glyph_ms(models: dict[str, Stylizer]) -> dict[str, float]:
    """Median forward time per glyph for an 8-glyph batch, models interleaved."""
    x = next(iter(models.values())).render_sources(list("永和九年歲在癸丑"))  # (8, 1, S, S)
    style = torch.zeros(8, dtype=torch.long)

    def forward(st):
        with torch.inference_mode():
            st.model(x, style)

    with num_threads(1):
        samples = interleaved({k: (lambda st=st: forward(st)) for k, st in models.items()}, reps=15,
                              budget_s=60)
    return {k: p50(v) * 1000 / 8 for k, v in samples.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.glyph_quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: the shipped model")
    p.add_argument("--compare", default=None, help="a second checkpoint, e.g. the model it replaced")
    p.add_argument("--sample", type=int, default=400, help="GB2312 level-1 characters scanned")
    p.add_argument("--heldout", type=int, default=500, help="held-out characters scored")
    a = p.parse_args(argv)
    models = {"this model": Stylizer.from_pretrained(a.checkpoint, device="cpu", max_chars=64)}
    if a.compare:
        models["compared"] = Stylizer.from_pretrained(a.compare, device="cpu", max_chars=64)
    first = models["this model"]
    held = first.heldout_chars[:a.heldout]
    level1 = [c for c in gb2312_level1() if first.source_font.draws(c)]
    random.Random(0).shuffle(level1)
    scan = "".join(level1[:a.sample])
    timing = per_glyph_ms(models)
    rows = []
    for style in first.styles:
        floor = None
        for label, st in models.items():
            pred, real = draw(st, held, style, with_target=True)
            scanned, scanned_real = draw(st, scan, style, with_target=True)
            h = glyph_metrics(pred, real) if real is not None else {**defect_metrics(pred), "ssim": None}
            s = defect_metrics(scanned)
            rows.append([style, label, f"{h['ssim']:.3f}" if h["ssim"] is not None else "–",
                         f"{h['dithered']:.1%}", f"{h['textured']:.1%}",
                         f"{h['broken']:.1%}" if "broken" in h else "–",
                         f"{s['dithered']:.1%}", f"{s['textured']:.1%}", f"{timing[label]:.1f}"])
            if floor is None and real is not None and scanned_real is not None:
                fh, fs = defect_metrics(real), defect_metrics(scanned_real)
                floor = [style, "real font", "1.000", f"{fh['dithered']:.1%}", f"{fh['textured']:.1%}",
                         "0.0%", f"{fs['dithered']:.1%}", f"{fs['textured']:.1%}", "–"]
        if floor:
            rows.append(floor)
    print(f"Held-out: {len(held)} characters; scan: {len(scan)} random GB2312 level-1 characters; "
          f"ms per glyph: median forward of an 8-glyph batch on 1 thread.\n")
    print(md_table(["style", "system", "held-out SSIM", "held-out dithered", "held-out textured",
                    "held-out broken strokes", "GB2312-1 dithered", "GB2312-1 textured", "ms/glyph"],
                   rows))


if __name__ == "__main__":
    main()
