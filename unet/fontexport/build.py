"""Building the font file: prepared glyphs (outlines in font units) -> a TrueType or CFF OpenType font.

``FontBuilder`` writes a TrueType (quadratic, outer contours clockwise) or CFF OpenType (cubic,
counter-clockwise) font with cmap (format 4, and 12 beyond the BMP), horizontal and vertical
metrics, OS/2 code-page bits for Chinese and names in English and Chinese. Overlaps are removed and
contours turned the way each format wants by skia-pathops.

Names: the font never carries another font's Reserved Font Name (LXGW WenKai reserves "LXGW" and
"霞鹜"), and its name table says the glyphs are machine-generated, by which model, in which style.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pathops
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.roundingPen import RoundingPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from ..errors import ExportError

UPM = 1000  # units per em of every exported font
CU2QU_ERROR = 1.0  # font units a quadratic (TrueType) curve may stray from potrace's cubic
# Never in our names: LXGW WenKai's Reserved Font Names (SIL OFL), and Arphic's "AR PL" vendor prefix
# (not an OFL font; a name with it would read as Arphic's own release).
RESERVED_NAMES = ("LXGW", "霞鹜", "AR PL")
LICENSE = ("This Font Software is licensed under the SIL Open Font License, Version 1.1. "
           "This license is available with a FAQ at: https://openfontlicense.org")
LICENSE_URL = "https://openfontlicense.org"
FORMATS = ("ttf", "otf")
GB2312_BIT, BIG5_BIT = 18, 20  # OS/2 ulCodePageRange1: Chinese Simplified (cp936), Traditional (cp950)


def replay(contours: Sequence[Sequence], pen) -> None:
    for contour in contours:
        for op, pts in contour:
            getattr(pen, op)(*pts)


@dataclass
class FontGlyph:
    """One glyph ready for the font: its outline in font units (y up) and advance width (its advance
    height is UPM, as for every Chinese character)."""

    char: str
    path: pathops.Path  # overlaps removed, contours clockwise (outer) as TrueType wants
    advance: int = UPM

    @property
    def name(self) -> str:
        return f"uni{ord(self.char):04X}" if ord(self.char) <= 0xFFFF else f"u{ord(self.char):05X}"


def clean_path(draw: Callable, even_odd: bool) -> pathops.Path:
    """Outline -> one path with overlaps removed and outer contours clockwise (y up).

    Traced bitmaps are read even-odd (their nested contours alternate ink and paper whatever
    direction the tracer chose); a real font's glyph is read nonzero, as its rasteriser would.
    """
    path = pathops.Path(fillType=pathops.FillType.EVEN_ODD if even_odd else pathops.FillType.WINDING)
    draw(path.getPen())
    try:
        return pathops.simplify(path, fix_winding=True, clockwise=True)
    except pathops.PathOpsError:  # rare numeric failures: rounding first is what fontTools does
        rounded = pathops.Path(fillType=path.fillType)
        path.draw(RoundingPen(rounded.getPen()))
        return pathops.simplify(rounded, fix_winding=True, clockwise=True)


@dataclass
class FontNames:
    """What the name table says. Checked against ``RESERVED_NAMES`` when built."""

    family: str
    family_zh: str
    description: str
    copyright: str
    version: str = "1.000"

    @property
    def ps_name(self) -> str:
        return (re.sub(r"[^A-Za-z0-9-]", "", self.family.replace(" ", "")) or "GlyphAttention")[:55] + "-Regular"

    def check(self, reserved: Sequence[str] = RESERVED_NAMES) -> None:
        for field_name in ("family", "family_zh", "description"):
            value = getattr(self, field_name)
            for word in reserved:
                if word.casefold() in value.casefold():
                    raise ExportError(f"the font's {field_name.replace('_', ' ')} may not contain "
                                      f"{word!r}: another font reserves it (a Reserved Font Name or "
                                      f"vendor prefix)")


def without_reserved(text: str, reserved: Sequence[str] = RESERVED_NAMES) -> str:
    """Drop reserved words from a style name ("LXGW WenKai" -> "WenKai")."""
    for word in reserved:
        text = re.sub(re.escape(word), "", text, flags=re.IGNORECASE)
    return " ".join(text.split()) or "Style"


def build_font(glyphs: Sequence[FontGlyph], names: FontNames, fmt: str = "ttf",
               spacing: dict | None = None) -> TTFont:
    """A complete font from prepared glyphs. ``fmt``: one of ``FORMATS``, and ``names`` checked
    (``plan_export`` checks both where an export enters); ``spacing``: ascender, descender and
    line gap in font units."""
    if not glyphs:
        raise ExportError("no glyphs to put in the font")
    m = {"ascender": 880, "descender": -120, "line_gap": 0, **(spacing or {})}
    truetype = fmt == "ttf"
    order = [".notdef"] + [g.name for g in glyphs]
    fb = FontBuilder(UPM, isTTF=truetype)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({ord(g.char): g.name for g in glyphs})  # format 4, plus 12 beyond the BMP

    notdef = clean_path(lambda pen: replay([_rectangle(50, m["descender"], UPM - 50, m["ascender"]),
                                            _rectangle(100, m["descender"] + 50, UPM - 100, m["ascender"] - 50)],
                                           pen), even_odd=True)  # a hollow box
    paths = {".notdef": notdef, **{g.name: g.path for g in glyphs}}
    advances = {".notdef": UPM, **{g.name: g.advance for g in glyphs}}

    bounds = {n: p.bounds if len(p) else (0, 0, 0, 0) for n, p in paths.items()}
    if truetype:
        outlines = {}
        for n, p in paths.items():
            pen = TTGlyphPen(None)
            p.draw(Cu2QuPen(pen, CU2QU_ERROR, reverse_direction=False))
            outlines[n] = pen.glyph()
        fb.setupGlyf(outlines)
    else:
        charstrings = {}
        for n, p in paths.items():
            pen = T2CharStringPen(advances[n], None)
            p.reverse()  # CFF wants outer contours counter-clockwise
            p.draw(pen)
            p.reverse()
            charstrings[n] = pen.getCharString()
        fb.setupCFF(names.ps_name, {"FullName": names.family, "FamilyName": names.family,
                                    "Weight": "Regular", "version": names.version}, charstrings, {})
    fb.setupHorizontalMetrics({n: (advances[n], round(bounds[n][0])) for n in order})
    y_max = max(b[3] for b in bounds.values())
    y_min = min(b[1] for b in bounds.values())
    fb.setupHorizontalHeader(ascent=m["ascender"], descent=m["descender"], lineGap=m["line_gap"])
    # vertical setting: the vertical origin is the typographic ascender (no VORG needed)
    fb.setupVerticalMetrics({n: (UPM, round(m["ascender"] - bounds[n][3])) for n in order})
    fb.setupVerticalHeader(ascent=UPM // 2, descent=-UPM // 2)
    fb.setupNameTable(_name_strings(names), mac=False)
    fb.setupOS2(sTypoAscender=m["ascender"], sTypoDescender=m["descender"], sTypoLineGap=m["line_gap"],
                usWinAscent=max(m["ascender"], round(y_max)), usWinDescent=max(-m["descender"], -round(y_min)),
                version=4, achVendID="NONE", fsType=0, fsSelection=0x40 | 0x80,  # REGULAR, USE_TYPO_METRICS
                ulCodePageRange1=_codepage_bits(g.char for g in glyphs), ulCodePageRange2=0)
    fb.font["OS/2"].recalcUnicodeRanges(fb.font)
    fb.setupPost(isFixedPitch=0)
    fb.font["head"].fontRevision = float(names.version)
    return fb.font


def _rectangle(x0, y0, x1, y1) -> list:
    return [("moveTo", ((x0, y0),)), ("lineTo", ((x1, y0),)), ("lineTo", ((x1, y1),)),
            ("lineTo", ((x0, y1),)), ("closePath", ())]


def _name_strings(names: FontNames) -> dict:
    return {
        "copyright": names.copyright,
        "familyName": {"en": names.family, "zh": names.family_zh},
        "styleName": "Regular",
        "uniqueFontIdentifier": f"{names.version};NONE;{names.ps_name}",
        "fullName": {"en": f"{names.family} Regular", "zh": f"{names.family_zh} Regular"},
        "version": f"Version {names.version}",
        "psName": names.ps_name,
        "manufacturer": "Glyph Attention (machine-generated)",
        "description": names.description,
        "licenseDescription": LICENSE,
        "licenseInfoURL": LICENSE_URL,
    }


def _codepage_bits(chars) -> int:
    bits = 0
    for ch in chars:
        for codec, bit in (("gb2312", GB2312_BIT), ("big5", BIG5_BIT)):
            try:
                ch.encode(codec)
                bits |= 1 << bit
            except UnicodeEncodeError:
                pass
    return bits
