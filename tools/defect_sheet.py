"""The worst glyphs of a model before and after a change, for the model card.

    python -m tools.defect_sheet --before OLD_CHECKPOINT --after NEW_CHECKPOINT --out sheet.png
        [--charset gb2312-1] [--sample 600] [--per-style 8]

For each style, the characters of a fixed sample where ``--before`` shows the most speckle
(thresholded specks plus faint texture, ``unet.train.metrics``) are drawn in rows: source, before,
after and the real font. Prints each character's counts before and after.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from unet import Stylizer
from unet.engine.charsets import load_charset
from unet.engine.visualize import glyph_sheet
from unet.train.metrics import speck_counts, texture_counts


def as_array(images) -> np.ndarray:
    return np.stack([np.asarray(im.convert("L"), dtype=np.float32) / 255 for im in images])


def generate(stylizer: Stylizer, chars: str, style: str, with_target: bool = False):
    """Glyphs for any number of characters, in requests of the stylizer's size."""
    out = []
    step = stylizer.max_chars
    for i in range(0, len(chars), step):
        out.append(stylizer.generate(chars[i:i + step], style, with_target=with_target))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.defect_sheet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--charset", default="gb2312-1")
    p.add_argument("--sample", type=int, default=600)
    p.add_argument("--per-style", type=int, default=8)
    a = p.parse_args(argv)
    before = Stylizer.from_pretrained(a.before, device="cpu", max_chars=64)
    after = Stylizer.from_pretrained(a.after, device="cpu", max_chars=64)
    chars = [c for c in load_charset(a.charset) if before.source_font.draws(c)]
    random.Random(0).shuffle(chars)
    chars = "".join(chars[:a.sample])
    rows, labels = [], []
    for style in before.styles:
        gens = generate(before, chars, style)
        drawn = "".join(c for g in gens for c in g.chars)
        old = as_array([im for g in gens for im in g.generated])
        score = speck_counts(old) + texture_counts(old)
        worst = "".join(drawn[i] for i in np.argsort(-score, kind="stable")[:a.per_style])
        b = before.generate(worst, style, with_target=True)
        n = after.generate(worst, style)
        for ch, o, new in zip(worst, as_array(b.generated), as_array(n.generated)):
            print(f"{style} {ch}: specks {speck_counts(o[None])[0]} -> {speck_counts(new[None])[0]}, "
                  f"texture {texture_counts(o[None])[0]} -> {texture_counts(new[None])[0]}")
        labels.append(worst)
        rows.append([("source", b.source), ("before", b.generated), ("after", n.generated),
                     ("real", b.target)])
    # one block per style: all styles side by side in one grid, a column per character
    merged = [(label, [im for block in rows for im in block[i][1]])
              for i, label in enumerate(("source", "before", "after", "real"))]
    sheet, _ = glyph_sheet(merged, "".join(labels), per_row=a.per_style * len(rows))
    sheet.save(a.out)
    print("styles, left to right:", ", ".join(before.styles), "->", a.out)


if __name__ == "__main__":
    main()
