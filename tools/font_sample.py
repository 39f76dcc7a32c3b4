"""The README's picture of text set in exported fonts: ``python -m tools.font_sample [--out PNG]``.

Exports the sample text in every style of the shipped model (and Smiley Sans in complete mode, with
the traditional characters it lacks generated), then sets the text in each exported font with
Pillow, the way any program that installed the font would.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from unet.engine.stylizer import Stylizer
from unet.fontexport import export_font

REPO = Path(__file__).resolve().parent.parent
TEXT = "永和九年歲在癸丑暮春之初"
LABEL_WIDTH = 420


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.font_sample", description=__doc__)
    p.add_argument("--out", default=str(REPO / "docs" / "font-sample.png"))
    a = p.parse_args(argv)
    st = Stylizer.from_pretrained()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(s, False) for s in st.styles] + [("Smiley Sans", True)]
        for i, (style, complete) in enumerate(jobs):
            out = Path(tmp) / f"{i}.ttf"
            report = export_font(st, TEXT, out, style, complete=complete)
            label = report.family + (" (complete)" if complete else "")
            detail = (f"{len(report.kept)} real + {len(report.generated)} generated" if complete
                      else f"{len(report.generated)} generated glyphs")
            lines.append((label, detail, ImageFont.truetype(str(out), 64)))
        size, pad = 64, 18
        img = Image.new("L", (LABEL_WIDTH + len(TEXT) * size + 2 * pad, len(lines) * (size + pad) + pad), 255)
        draw = ImageDraw.Draw(img)
        small = ImageFont.load_default(18)
        for i, (label, detail, font) in enumerate(lines):
            y = pad + i * (size + pad)
            draw.text((pad, y + 12), label, font=small, fill=0)
            draw.text((pad, y + 36), detail, font=small, fill=110)
            draw.text((LABEL_WIDTH, y), TEXT, font=font, fill=0)
    img.save(a.out, optimize=True)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
