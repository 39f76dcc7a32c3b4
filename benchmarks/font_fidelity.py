"""How faithful an exported glyph is: ``python -m benchmarks.font_fidelity [--chars 100]``.

Takes real glyphs of each target font, normalised exactly as the model's outputs are (so a perfect
model would draw these), traces them, places them, builds a font, and compares:

- *shape*: the exported glyph re-rendered with Pillow at 128 px and refitted as ``unet.engine.glyphs``
  does, against the bitmap it came from (SSIM; tracing and refitting loss only);
- *place*: ink IoU in the em square (both fonts drawn at 128 px on the same baseline) against the
  real font, for four placements: the source character's normalisation inverted and then moved and
  scaled by the style's metrics (``unet.fontexport.StyleGeometry``, shipped), the same without the style's
  metrics, the canvas taken as the em square, and each glyph stretched onto the source's ink box.
  The source font's own glyph gives the baseline. Characters the style metrics are measured on are
  not scored.

Prints a markdown table (one run, every variant on the same characters).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from fontTools.pens.transformPen import TransformPen
from PIL import Image, ImageDraw, ImageFont
from skimage.metrics import structural_similarity

from unet import fontexport as F
from unet.engine.charsets import gb2312_level1
from unet.engine.glyphs import Font
from unet.engine.stylizer import Stylizer
from unet.fontexport.trace import potrace_path, trace

from .measure import md_table

EM_PX = 128


def em_ink(path: Path, ch: str, index: int = 0) -> np.ndarray:
    """The character drawn at EM_PX px on a fixed baseline: where the font puts it, not fitted."""
    font = ImageFont.truetype(str(path), EM_PX, index=index)
    img = Image.new("L", (2 * EM_PX, 2 * EM_PX), 255)
    ImageDraw.Draw(img).text((EM_PX // 2, EM_PX + EM_PX // 2), ch, font=font, fill=0, anchor="ls")
    return np.asarray(img) < 128


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def placements(source: Font, ch: str, bitmap: Image.Image, source_image: Image.Image,
               style: F.StyleGeometry) -> dict:
    """Canvas px -> font units, four ways (see the module docstring); all but the shipped one are
    only moved to the middle of the style's advance."""
    place = F.Placement.from_source(source, ch, source_image)
    only_advance = F.StyleGeometry(advance=style.advance)
    source_box = F.placement_matrix(place, source, ch, only_advance)
    shift = (style.advance - source.advance(ch) * F.UPM / source.units_per_em) / 2
    k = F.UPM / bitmap.width  # the canvas as the em square, its top at the typographic ascender
    gx0, gy0, gx1, gy1 = F.ink_box(bitmap)
    sx0, sy0, sx1, sy1 = F.ink_box(source_image)
    ax, ay = (sx1 - sx0) / (gx1 - gx0), (sy1 - sy0) / (gy1 - gy0)
    pre = (ax, 0, 0, ay, sx0 - gx0 * ax, sy0 - gy0 * ay)  # generated ink box -> source ink box (px)
    return {"source normalisation inverted + style metrics (shipped)": (F.placement_matrix(place, source, ch, style),),
            "source normalisation inverted": (source_box,),
            "canvas = em square": ((k, 0, 0, -k, shift, 880),),
            "stretched onto the source's ink box": (source_box, pre)}


def measure(style_font: Font, source: Font, chars: list[str], vectorizer: str, tmp: Path,
            style: F.StyleGeometry) -> dict:
    bitmaps = {c: style_font.render(c, 128) for c in chars}
    sources = {c: source.render(c, 128) for c in chars}
    outlines = {c: trace(bitmaps[c], vectorizer) for c in chars}
    real = {c: em_ink(style_font.path, c, style_font.face_index) for c in chars}
    row = {"source font itself": np.mean([iou(em_ink(source.path, c), real[c]) for c in chars])}
    shape = {}
    names = F.FontNames("Fidelity", "Fidelity", "Machine-generated test", "none")
    for i, name in enumerate(placements(source, chars[0], bitmaps[chars[0]], sources[chars[0]], style)):
        glyphs = []
        for c in chars:
            matrices = placements(source, c, bitmaps[c], sources[c], style)[name]

            def draw(pen, c=c, matrices=matrices):
                for matrix in matrices:
                    pen = TransformPen(pen, matrix)
                F.replay(outlines[c], pen)

            glyphs.append(F.FontGlyph(c, F.clean_path(draw, even_odd=True)))
        out = tmp / f"{i}.ttf"
        F.build_font(glyphs, names, "ttf").save(out)
        exported = Font(out)
        row[name] = np.mean([iou(em_ink(out, c), real[c]) for c in chars])
        shape[name] = np.mean([structural_similarity(np.asarray(exported.render(c, 128), dtype=float),
                                                     np.asarray(bitmaps[c], dtype=float), data_range=255)
                               for c in chars])
    return {"place": row, "shape": shape}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.font_fidelity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chars", type=int, default=100, help="characters per font (every 37th of GB2312-1)")
    a = p.parse_args(argv)
    started = time.perf_counter()
    st = Stylizer.from_pretrained()
    chars = list(gb2312_level1()[::37])[: a.chars]
    vectorizers = ["potrace", "contours"] if potrace_path() else ["contours"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for style in st.styles:
            style_font = st.target_font(style)  # None where the font is not installed
            if style_font is None:
                rows.append([style, "(font not installed)", "", "", "", ""])
                continue
            sample = set(gb2312_level1()[F.STYLE_SAMPLE])  # the style metrics' characters: not scored
            usable = [c for c in chars if style_font.draws(c) and st.source_font.draws(c) and c not in sample]
            for vec in vectorizers:
                r = measure(style_font, st.source_font, usable, vec, Path(tmp), F.style_geometry(st, style))
                for name, value in r["place"].items():
                    shape = r["shape"].get(name)
                    rows.append([style, vec, name, f"{value:.3f}", "" if shape is None else f"{shape:.3f}",
                                 str(len(usable))])
    print("## Font export fidelity\n")
    print(md_table(["style", "vectoriser", "placement", "em-square ink IoU vs the real font",
                    "shape: SSIM after refit", "n"], rows))
    print(f"\n_{time.perf_counter() - started:.0f} s._")


if __name__ == "__main__":
    main()
