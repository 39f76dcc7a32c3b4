"""The model card's sample sheets: ``python -m tools.card_samples [--checkpoint DIR]``.

Writes ``samples_heldout.png`` (held-out characters, never trained on) and
``samples_outside_charset.png`` (Japanese-only forms in neither GB2312 nor Big5) into the
checkpoint's folder: a source row, then per style the generated row and the real font's row (empty
cells where the font lacks the character or is not installed).
"""

from __future__ import annotations

import argparse

from unet import Stylizer
from unet.engine.visualize import glyph_sheet

OUTSIDE = "畑峠込働辻栃匂枠笹凪躾榊糀鰯"


def sheet(st: Stylizer, text: str):
    rows = None
    for style in st.styles:
        g = st.generate(text, style, with_target=True)
        if rows is None:
            rows = [("source", g.source)]
        rows.append((style, g.generated))
        if any(t is not None for t in g.target):
            rows.append((f"real {style.split()[-1]}", g.target))
    return glyph_sheet(rows, list(text))[0]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.card_samples", description=__doc__)
    p.add_argument("--checkpoint", default=None, help="default: the shipped model")
    a = p.parse_args(argv)
    st = Stylizer.from_pretrained(a.checkpoint, device="cpu")
    sheet(st, st.heldout_chars[:14]).save(st.directory / "samples_heldout.png")
    sheet(st, OUTSIDE).save(st.directory / "samples_outside_charset.png")
    print("wrote", st.directory / "samples_heldout.png", "and", st.directory / "samples_outside_charset.png")


if __name__ == "__main__":
    main()
