"""The README's 300 px specimen of exported outlines: ``python -m tools.font_specimen [--out PNG]``.

Exports a few characters (dense ones among them) in a style of the shipped model and draws each at
300 px with Pillow, as an installed font is drawn, beside the style's real font; the points of each
outline (on-curve black, off-curve grey) are marked so their number and placement can be judged,
and each glyph is captioned with its points and contours.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from unet.engine.stylizer import Stylizer
from unet.fontexport import export_font

REPO = Path(__file__).resolve().parent.parent
CHARS = "酬永鬱"
SIZE = 300  # px per em
PAD = 24


def glyph_points(font: TTFont, ch: str) -> tuple[list[tuple[float, float, bool]], int]:
    """The ``glyf`` points of a character (x, y in font units, on-curve) and its contour count."""
    glyf = font["glyf"]
    glyph = glyf[font.getBestCmap()[ord(ch)]]
    coords, ends, flags = glyph.getCoordinates(glyf)
    return [(x, y, bool(f & 1)) for (x, y), f in zip(coords, flags)], len(ends)


def row(draw: ImageDraw.ImageDraw, y: int, path: Path, label: str, caption_font) -> None:
    """One font's characters at SIZE px on a baseline, points marked, each captioned."""
    tt = TTFont(path)
    scale = SIZE / tt["head"].unitsPerEm
    face = ImageFont.truetype(str(path), SIZE)
    ascent = tt["hhea"].ascent * scale
    baseline = y + 30 + ascent
    draw.text((PAD, y), label, font=caption_font, fill=(0, 0, 0))
    for i, ch in enumerate(CHARS):
        x0 = PAD + i * (SIZE + PAD)
        draw.text((x0, baseline), ch, font=face, fill=(70, 110, 200), anchor="ls")
        points, contours = glyph_points(tt, ch)
        for x, yy, on in points:
            px, py = x0 + x * scale, baseline - yy * scale
            r = 2.5 if on else 1.8
            draw.ellipse((px - r, py - r, px + r, py + r), fill=(0, 0, 0) if on else (150, 150, 150))
        draw.text((x0, baseline - tt["hhea"].descent * scale + 6),
                  f"{len(points)} points, {contours} contours", font=caption_font, fill=(0, 0, 0))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.font_specimen", description=__doc__)
    p.add_argument("--out", default=str(REPO / "docs" / "font-specimen.png"))
    p.add_argument("--style", default="LXGW WenKai")
    a = p.parse_args(argv)
    st = Stylizer.from_pretrained()
    real = st.target_font(a.style)
    if real is None or real.path.suffix.lower() != ".ttf":
        raise SystemExit(f"the real font of {a.style!r} is not installed as a TrueType file")
    caption = ImageFont.load_default(18)
    row_height = 30 + round(1.2 * SIZE) + 40  # label, the em box and a bit more, caption
    height = 2 * row_height + PAD
    img = Image.new("RGB", (PAD + len(CHARS) * (SIZE + PAD), height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export.ttf"
        report = export_font(st, CHARS, out, a.style)
        row(draw, PAD // 2, out, f"{report.family}: the shipped model's glyphs, exported", caption)
        row(draw, PAD // 2 + row_height, real.path, f"the real font ({real.path.name})", caption)
    img.save(a.out, optimize=True)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
