"""Why a checkpoint dithers: ``python -m tools.dither_diagnosis [--checkpoint DIR] [--style 0]``.

Draws the characters where blobs were reported, in one style, under normalisations that separate
the suspects, and prints the thresholded specks summed over them (``unet.train.metrics``):

- ``eval``: BatchNorm with its running statistics, dropout off (what inference runs);
- ``batch statistics``: every BatchNorm normalises with this batch's own statistics (as training
  ran), dropout off;
- ``one layer on batch statistics``: the same for a single BatchNorm, the others as inference;
- ``recalibrated``: running statistics re-estimated on 256 other characters (mixed styles and the
  style alone): stale statistics would be fixed by this;
- ``perturbed``: running means moved by 5 % of a standard deviation at random: sensitivity to any
  small change would show here;
- ``dropout on``: inference with training's dropout noise.

It also prints the share of the image's energy at the period-2 frequencies (the checkerboard a
stride-2 transposed convolution makes), against the real font's.
"""

from __future__ import annotations

import argparse
import copy
import random

import numpy as np
import torch
from torch import nn

from unet import Stylizer
from unet.engine.charsets import gb2312_level1
from unet.train.metrics import speck_counts

REPORTED = "这是过道也已意思觉覺處连咙允定笔毛巴色心"


def unit(y: torch.Tensor) -> np.ndarray:
    return ((y.clamp(-1, 1) + 1) / 2)[:, 0].numpy()


def specks(model, x, style) -> int:
    with torch.inference_mode():
        return int(speck_counts(unit(model(x, style))).sum())


def nyquist_share(glyphs: np.ndarray) -> float:
    """Mean share of AC energy at (-1)^x, (-1)^y and (-1)^(x+y)."""
    f = np.abs(np.fft.fft2(glyphs - glyphs.mean((1, 2), keepdims=True))) ** 2
    h, w = glyphs.shape[1] // 2, glyphs.shape[2] // 2
    return float(((f[:, 0, w] + f[:, h, 0] + f[:, h, w]) / f.sum((1, 2))).mean())


def norms(model) -> list[nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def recalibrated(model, x, styles) -> nn.Module:
    m = copy.deepcopy(model)
    for bn in norms(m):
        bn.reset_running_stats()
        bn.momentum = None  # a plain average over the batches
        bn.train()
    with torch.inference_mode():
        for i in range(0, len(x), 64):
            m(x[i:i + 64], styles[i:i + 64])
    return m.eval()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.dither_diagnosis", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--style", type=int, default=0, help="style index (0: the default style)")
    a = p.parse_args(argv)
    torch.manual_seed(0)
    st = Stylizer.from_pretrained(a.checkpoint, device="cpu")
    model = st.model.eval()
    x = st.render_sources(list(REPORTED))  # (20, 1, S, S)
    style = torch.full((len(x),), a.style)
    others = [c for c in gb2312_level1() if c not in REPORTED and st.source_font.draws(c)]
    random.Random(3).shuffle(others)
    xo = st.render_sources(others[:256])
    k = model.config.num_styles
    rows = [("eval (inference)", specks(model, x, style))]
    m = copy.deepcopy(model)
    for bn in norms(m):
        bn.train()
    rows.append(("batch statistics, every BatchNorm", specks(m, x, style)))
    counts = []
    for i in range(len(norms(model))):
        m = copy.deepcopy(model).eval()
        norms(m)[i].train()
        counts.append(specks(m, x, style))
    rows.append((f"batch statistics, one BatchNorm (min..max over {len(counts)})",
                 f"{min(counts)}..{max(counts)}"))
    mixed = torch.randint(max(1, k), (len(xo),), generator=torch.Generator().manual_seed(0))
    rows.append(("recalibrated running statistics, mixed styles",
                 specks(recalibrated(model, xo, mixed), x, style)))
    rows.append(("recalibrated running statistics, this style",
                 specks(recalibrated(model, xo, torch.full((len(xo),), a.style)), x, style)))
    m = copy.deepcopy(model)
    g = torch.Generator().manual_seed(1)
    for bn in norms(m):
        bn.running_mean += 0.05 * torch.randn(bn.running_mean.shape, generator=g) * bn.running_var.sqrt()
    rows.append(("running means perturbed by 5 % sd", specks(m, x, style)))
    m = copy.deepcopy(model).eval()
    for d in m.modules():
        if isinstance(d, nn.Dropout):
            d.train()
    rows.append(("dropout on at inference", specks(m, x, style)))
    print(f"{len(REPORTED)} characters {REPORTED}, style {st.styles[a.style]!r}\n")
    print("| normalisation | thresholded specks (sum) |\n|---|---|")
    for label, n in rows:
        print(f"| {label} | {n} |")
    with torch.inference_mode():
        y = unit(model(x, style))
    name = st.styles[a.style]
    real = [st.render_target(name, c) for c in REPORTED]
    if all(r is not None for r in real):
        r = np.stack([np.asarray(im.convert("L"), dtype=np.float32) / 255 for im in real])
        print(f"\nperiod-2 energy share: model {nyquist_share(y):.2e}, real font {nyquist_share(r):.2e}")


if __name__ == "__main__":
    main()
