"""Building the font file: prepared glyphs (outlines in font units) -> a TrueType or CFF OpenType font.

``FontBuilder`` writes a TrueType (quadratic, outer contours clockwise) or CFF OpenType (cubic,
counter-clockwise) font with cmap (format 4, and 12 beyond the BMP), horizontal and vertical
metrics, OS/2 code-page bits for Chinese and names in English and Chinese. Overlaps are removed and
contours turned the way each format wants by skia-pathops, and every curve gets a point at its
extremes, so that a glyph's control box (what ``glyf`` stores as xMin...yMax) is its ink box.

Metrics (``LineMetrics``): the em box (typographic ascender and descender, which is also the
vertical origin of every glyph, stored in ``vmtx`` and, for CFF, ``VORG``), a line gap that gives
the line height, identical in ``hhea`` and OS/2 (``USE_TYPO_METRICS``), so that every platform sets
the same lines; left side bearing = xMin for every glyph; a real underline (``post``); ``gasp``,
and for TrueType a ``prep`` that switches on smart dropout control (the glyphs are unhinted).
``substitutions`` become GSUB features (``vert``/``vrt2``: the vertical forms of punctuation).

Names: the font never carries another font's Reserved Font Name (LXGW WenKai reserves "LXGW" and
"霞鹜") in a name, and its name table says the glyphs are machine-generated, by which model, in which
style. ``FontNames.edition`` (the character set and date) and a hash of the outlines make the
unique ID and version string of each export its own.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pathops
from fontTools.fontBuilder import FontBuilder
from fontTools.misc.bezierTools import solveQuadratic, splitCubicAtT, splitQuadraticAtT
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.recordingPen import RecordingPen
from fontTools.pens.roundingPen import RoundingPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables import ttProgram

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
FAMILY_MAX = 31  # characters in a family name: Windows (GDI's LOGFONT) and so Office cut longer ones
# TrueType instructions for the prep table: PUSHW 511, SCANCTRL, PUSHB 4, SCANTYPE = smart dropout
# control, which keeps thin strokes of unhinted glyphs from vanishing at small sizes
SMART_DROPOUT = ["PUSHW[ ]", "511", "SCANCTRL[ ]", "PUSHB[ ]", "4", "SCANTYPE[ ]"]
# Latin text, book weight, proportional ("modern"): fonts that read PANOSE do not take it for monospace
PANOSE = {"bFamilyType": 2, "bWeight": 5, "bProportion": 3}


def replay(contours: Sequence[Sequence], pen) -> None:
    for contour in contours:
        for op, pts in contour:
            getattr(pen, op)(*pts)


@dataclass
class FontGlyph:
    """One glyph ready for the font: its outline in font units (y up) and advance width (its advance
    height is UPM, as for every Chinese character). A glyph without a character (``char`` "") is
    reached only through a substitution (a vertical form) and needs a ``glyph_name``."""

    char: str
    path: pathops.Path  # overlaps removed, contours clockwise (outer) as TrueType wants
    advance: int = UPM
    glyph_name: str = ""  # default: uniXXXX (uXXXXX beyond the BMP), from the character

    @property
    def name(self) -> str:
        if self.glyph_name:
            return self.glyph_name
        return f"uni{ord(self.char):04X}" if ord(self.char) <= 0xFFFF else f"u{ord(self.char):05X}"


@dataclass(frozen=True)
class LineMetrics:
    """Vertical metrics of an exported font, in font units (UPM 1000)."""

    ascender: int = 880  # top of the em box: typographic and hhea ascender, the vertical origin
    descender: int = -120  # bottom of the em box
    line_gap: int = 200  # line height = ascender - descender + line_gap (here 1.2 em)
    underline_position: int = -150  # post: the underline's top, below the baseline
    underline_thickness: int = 50

    @property
    def line_height(self) -> int:
        return self.ascender - self.descender + self.line_gap


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
    copyright: str  # may quote an OFL font's notice, Reserved Font Name and all (OFL 1.1, 2 and 3)
    version: str = "1.000"
    edition: str = ""  # what sets this export apart, e.g. "3755 characters (set 1a2b3c4d); 2025-06-01"

    @property
    def ps_name(self) -> str:
        return (re.sub(r"[^A-Za-z0-9-]", "", self.family.replace(" ", "")) or "GlyphAttention")[:55] + "-Regular"

    def check(self, reserved: Sequence[str] = RESERVED_NAMES) -> None:
        """The names the font is known by (not the copyright notice, which the OFL makes a modified
        version keep word for word, and which may name the original's author) are free of reserved
        words; the family fits ``FAMILY_MAX``."""
        for field_name in ("family", "family_zh", "description", "edition"):
            value = getattr(self, field_name)
            for word in reserved:
                if word.casefold() in value.casefold():
                    raise ExportError(f"the font's {field_name.replace('_', ' ')} may not contain "
                                      f"{word!r}: another font reserves it (a Reserved Font Name or "
                                      f"vendor prefix)")
        for field_name in ("family", "family_zh"):
            value = getattr(self, field_name)
            if not value.strip():
                raise ExportError("the font's family name is empty")
            if len(value) > FAMILY_MAX:
                raise ExportError(f"the font's {field_name.replace('_', ' ')} is {len(value)} "
                                  f"characters long; at most {FAMILY_MAX} (Windows and Office cut "
                                  f"longer names): {value[:40]!r}")


def without_reserved(text: str, reserved: Sequence[str] = RESERVED_NAMES) -> str:
    """Drop reserved words from a style name ("LXGW WenKai" -> "WenKai")."""
    for word in reserved:
        text = re.sub(re.escape(word), "", text, flags=re.IGNORECASE)
    return " ".join(text.split()) or "Style"


def build_font(glyphs: Sequence[FontGlyph], names: FontNames, fmt: str = "ttf",
               spacing: LineMetrics | Mapping | None = None,
               substitutions: Mapping[str, Mapping[str, str]] | None = None) -> TTFont:
    """A complete font from prepared glyphs. ``fmt``: one of ``FORMATS``, and ``names`` checked
    (``plan_export`` checks both where an export enters); ``spacing``: the ``LineMetrics`` (or a
    dict of some of its fields); ``substitutions``: GSUB feature tag -> {glyph name: glyph name}
    (single substitutions, e.g. ``{"vert": {"uniFF0C": "uniFF0C.vert"}}``)."""
    if not glyphs:
        raise ExportError("no glyphs to put in the font")
    if not isinstance(spacing, LineMetrics):
        spacing = LineMetrics(**(spacing or {}))
    m = spacing
    truetype = fmt == "ttf"
    order = [".notdef"] + [g.name for g in glyphs]
    if len(set(order)) != len(order):
        raise ExportError("two glyphs of the font have the same name")
    fb = FontBuilder(UPM, isTTF=truetype)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({ord(g.char): g.name for g in glyphs if g.char})  # format 4, plus 12 beyond the BMP

    notdef = clean_path(lambda pen: replay([_rectangle(50, m.descender, UPM - 50, m.ascender),
                                            _rectangle(100, m.descender + 50, UPM - 100, m.ascender - 50)],
                                           pen), even_odd=True)  # a hollow box
    paths = {n: with_extremes(p) for n, p in [(".notdef", notdef), *((g.name, g.path) for g in glyphs)]}
    advances = {".notdef": UPM, **{g.name: g.advance for g in glyphs}}

    if truetype:
        outlines = {}
        for n, p in paths.items():
            pen = TTGlyphPen(None)
            p.draw(Cu2QuPen(pen, CU2QU_ERROR, reverse_direction=False))
            outlines[n] = pen.glyph()
        fb.setupGlyf(outlines)
        glyf = fb.font["glyf"]
        for n in order:
            glyf[n].recalcBounds(glyf)
        # the box glyf stores (control points), which is what lsb and the vertical origin refer to
        bounds = {n: (glyf[n].xMin, glyf[n].yMin, glyf[n].xMax, glyf[n].yMax) if glyf[n].numberOfContours
                  else None for n in order}
    else:
        charstrings = {}
        for n, p in paths.items():
            pen = T2CharStringPen(advances[n], None)
            p.reverse()  # CFF wants outer contours counter-clockwise
            p.draw(pen)
            p.reverse()
            charstrings[n] = pen.getCharString()
        fb.setupCFF(names.ps_name, {"FullName": f"{names.family} Regular", "FamilyName": names.family,
                                    "Weight": "Regular", "version": names.version}, charstrings, {})
        cff = fb.font["CFF "].cff.topDictIndex[0].CharStrings
        # the outline's own box; whole units outward (points are whole units: only curves' extremes,
        # which with_extremes makes points, could fall between)
        bounds = {n: (math.floor(b[0]), math.floor(b[1]), math.ceil(b[2]), math.ceil(b[3]))
                  if (b := cff[n].calcBounds(cff)) else None for n in order}
    fb.setupHorizontalMetrics({n: (advances[n], bounds[n][0] if bounds[n] else 0) for n in order})
    y_max = max(b[3] for b in bounds.values() if b)
    y_min = min(b[1] for b in bounds.values() if b)
    fb.setupHorizontalHeader(ascent=m.ascender, descent=m.descender, lineGap=m.line_gap)
    # vertical setting: every glyph's vertical origin is the top of the em box (tsb + yMax, and VORG)
    fb.setupVerticalMetrics({n: (UPM, m.ascender - bounds[n][3] if bounds[n] else 0) for n in order})
    fb.setupVerticalHeader(ascent=UPM // 2, descent=-UPM // 2)
    if not truetype:
        fb.setupVerticalOrigins({}, m.ascender)
    fb.setupNameTable(_name_strings(names, _outline_hash(paths, advances, order)), mac=False)
    fb.setupOS2(sTypoAscender=m.ascender, sTypoDescender=m.descender, sTypoLineGap=m.line_gap,
                usWinAscent=max(m.ascender, y_max), usWinDescent=max(-m.descender, -y_min),
                version=4, achVendID="NONE", fsType=0, fsSelection=0x40 | 0x80,  # REGULAR, USE_TYPO_METRICS
                ulCodePageRange1=_codepage_bits(g.char for g in glyphs if g.char and ord(g.char) >= 0x3400),
                ulCodePageRange2=0)
    for key, value in PANOSE.items():
        setattr(fb.font["OS/2"].panose, key, value)
    fb.font["OS/2"].recalcUnicodeRanges(fb.font)
    fb.setupPost(isFixedPitch=0, underlinePosition=m.underline_position,
                 underlineThickness=m.underline_thickness)
    fb.font["head"].fontRevision = float(names.version)
    gasp = fb.font["gasp"] = newTable("gasp")
    gasp.version = 1
    gasp.gaspRange = {0xFFFF: 0x000F}  # every size: grid-fit (a no-op unhinted), smoothed, symmetric
    if truetype:
        prep = fb.font["prep"] = newTable("prep")
        prep.program = ttProgram.Program()
        prep.program.fromAssembly(SMART_DROPOUT)
        fb.font["maxp"].maxStackElements = max(fb.font["maxp"].maxStackElements, 1)
    if substitutions:
        fb.addOpenTypeFeatures(_features(substitutions), tables={"GSUB"})
    return fb.font


def with_extremes(path: pathops.Path) -> pathops.Path:
    """The same outline with an on-curve point wherever a curve reaches its extreme in x or y, as
    font editors add them: then the outline's control box (all its points) is its ink box, and
    cu2qu's quadratic curves stay inside it."""
    rec = RecordingPen()
    path.draw(rec)
    out = pathops.Path(fillType=path.fillType)
    pen = out.getPen()
    current = None
    for op, pts in rec.value:
        if op == "curveTo" and len(pts) == 3:
            ts = _extreme_ts([current, *pts], cubic=True)
            parts = splitCubicAtT(current, *pts, *ts) if ts else [(current, *pts)]
            for part in parts:
                pen.curveTo(*part[1:])
        elif op == "qCurveTo" and len(pts) == 2:
            ts = _extreme_ts([current, *pts], cubic=False)
            parts = splitQuadraticAtT(current, *pts, *ts) if ts else [(current, *pts)]
            for part in parts:
                pen.qCurveTo(*part[1:])
        else:
            getattr(pen, op)(*pts)
        if pts:
            current = pts[-1]
    return out


def _extreme_ts(points: Sequence, cubic: bool) -> list[float]:
    """Where (0 < t < 1) a cubic or quadratic Bezier segment's x or y derivative is zero."""
    ts = []
    for i in (0, 1):
        v = [p[i] for p in points]
        if cubic:  # B'(t)/3 = a t^2 + b t + c
            a, b, c = -v[0] + 3 * v[1] - 3 * v[2] + v[3], 2 * (v[0] - 2 * v[1] + v[2]), v[1] - v[0]
            ts += solveQuadratic(a, b, c)
        elif v[0] - 2 * v[1] + v[2]:
            ts.append((v[0] - v[1]) / (v[0] - 2 * v[1] + v[2]))
    kept: list[float] = []
    for t in sorted(t for t in ts if 1e-3 < t < 1 - 1e-3):
        if not kept or t - kept[-1] > 1e-3:
            kept.append(t)
    return kept


def _features(substitutions: Mapping[str, Mapping[str, str]]) -> str:
    """A feature file of single substitutions, for every script (DFLT, hani, latn)."""
    lines = ["languagesystem DFLT dflt;", "languagesystem hani dflt;", "languagesystem latn dflt;"]
    for tag, mapping in substitutions.items():
        if not mapping:
            continue
        lines.append(f"feature {tag} {{")
        lines += [f"    sub {a} by {b};" for a, b in sorted(mapping.items())]
        lines.append(f"}} {tag};")
    return "\n".join(lines) + "\n"


def _outline_hash(paths: Mapping[str, pathops.Path], advances: Mapping[str, int], order: Sequence[str]) -> str:
    """8 hex digits that change with any glyph's outline, advance or name."""
    digest = hashlib.sha256()
    for n in order:
        rec = RecordingPen()
        paths[n].draw(RoundingPen(rec))
        digest.update(f"{n} {advances[n]} {rec.value!r}\n".encode())
    return digest.hexdigest()[:8]


def _rectangle(x0, y0, x1, y1) -> list:
    return [("moveTo", ((x0, y0),)), ("lineTo", ((x1, y0),)), ("lineTo", ((x1, y1),)),
            ("lineTo", ((x0, y1),)), ("closePath", ())]


def _name_strings(names: FontNames, outlines: str) -> dict:
    edition = f";{names.edition.replace('; ', ';')}" if names.edition else ""
    return {
        "copyright": names.copyright,
        "familyName": {"en": names.family, "zh": names.family_zh},
        "styleName": "Regular",
        "uniqueFontIdentifier": f"{names.version};NONE;{names.ps_name}{edition};outlines {outlines}",
        "fullName": {"en": f"{names.family} Regular", "zh": f"{names.family_zh} Regular"},
        "version": f"Version {names.version}" + (f"; {names.edition}" if names.edition else ""),
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
