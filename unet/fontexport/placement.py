"""Where each generated glyph goes in the font.

``unet.engine.glyphs`` fits every glyph's ink box into 112 px and centres it, so size and position
are gone from the bitmap. Each outline is put back by inverting the source character's own
normalisation (its ink box in font units <-> its ink box on the canvas: ``Placement``), then moved
and scaled as the style's real font differs from the source (``StyleGeometry``);
``python -m benchmarks.font_fidelity`` measures both against the alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..engine.charsets import gb2312_level1
from ..engine.glyphs import Font
from ..errors import ExportError
from .build import UPM

STYLE_SAMPLE = slice(1000, 1500)  # GB2312 level-1 characters a style's geometry is measured on


@dataclass(frozen=True)
class Placement:
    """Canvas pixels (x right, y down) -> font units (y up): the inverse of the source character's
    normalisation, so a generated glyph sits where the source font put that character."""

    scale: float  # font units per canvas pixel
    canvas_center: tuple[float, float]  # centre of the source glyph's ink on the canvas (px)
    font_center: tuple[float, float]  # centre of the source glyph's ink box (font units, UPM)

    @classmethod
    def from_source(cls, font: Font, ch: str, source_image: Image.Image) -> Placement:
        """From the character's ink box in the source font and on its rendered (normalised) canvas."""
        x0, y0, x1, y1 = (v * UPM / font.units_per_em for v in font.bounds(ch))
        box = ink_box(source_image)
        if box is None:
            raise ExportError(f"the source glyph of {ch!r} is blank")
        left, top, right, bottom = box
        scale = max(x1 - x0, y1 - y0) / max(right - left, bottom - top)
        return cls(scale, ((left + right) / 2, (top + bottom) / 2), ((x0 + x1) / 2, (y0 + y1) / 2))


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) in pixels of the ink (darker than mid grey), or None if blank."""
    ink = np.asarray(image.convert("L")) < 128
    rows, cols = np.nonzero(ink.any(1))[0], np.nonzero(ink.any(0))[0]
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@dataclass(frozen=True)
class StyleGeometry:
    """Where a style's real font puts its characters relative to the source font, as medians over
    ``STYLE_SAMPLE``: the model's bitmaps cannot say (every glyph is fitted into the same box), the
    font can. Identity where the real font is not installed.

    Measured by ``python -m benchmarks.font_fidelity`` on other characters (the README's table): ink
    IoU against the real font in the em square rose from 0.498 to 0.684 (WenKai), 0.497 to 0.536
    (UKai) and 0.629 to 0.780 (Smiley Sans) over placing by the source's ink box alone."""

    advance: int = UPM  # advance width of a Chinese character
    scale: float = 1.0  # longer side of the ink box, style / source
    dx: float = 0.0  # ink-box centre relative to the middle of the advance, style - source (units)
    dy: float = 0.0  # ink-box centre height, style - source (units)

    @classmethod
    def measure(cls, source: Font, target: Font | None) -> StyleGeometry:
        sample = [c for c in gb2312_level1()[STYLE_SAMPLE] if target is not None and target.draws(c)
                  and source.draws(c)]
        if not sample:
            return cls()

        def box(font, ch):  # (centre x - half advance, centre y, longer side, advance) in UPM units
            x0, y0, x1, y1 = font.bounds(ch)
            advance = font.advance(ch)
            return np.array([(x0 + x1) / 2 - advance / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0),
                             advance]) * UPM / font.units_per_em

        s = np.array([box(source, c) for c in sample])  # (n, 4)
        t = np.array([box(target, c) for c in sample])
        return cls(advance=round(float(np.median(t[:, 3]))), scale=float(np.median(t[:, 2] / s[:, 2])),
                   dx=float(np.median(t[:, 0] - s[:, 0])), dy=float(np.median(t[:, 1] - s[:, 1])))


def style_geometry(stylizer, style: str) -> StyleGeometry:
    return StyleGeometry.measure(stylizer.source_font, stylizer.target_font(style))


def placement_matrix(place: Placement, source_font: Font, ch: str, style: StyleGeometry) -> tuple:
    """Canvas px -> font units for ``ch``: the source's placement, moved and scaled by the style."""
    k = place.scale * style.scale
    (cx, cy), (fx, fy) = place.canvas_center, place.font_center
    fx += (style.advance - source_font.advance(ch) * UPM / source_font.units_per_em) / 2 + style.dx
    fy += style.dy
    return (k, 0, 0, -k, fx - cx * k, fy + cy * k)
