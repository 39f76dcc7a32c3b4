"""Export generated glyphs as an installable font: ``python -m unet.font --style ... --charset ... --out F.ttf``.

Pipeline per character: the model draws it (``Stylizer``), a vectoriser traces the bitmap
(``unet.trace``), the outline is put back where the *source* font had that character (``Placement``),
overlaps are removed and contours turned the way each format wants (skia-pathops), and fontTools'
``FontBuilder`` writes a TrueType (quadratic, outer contours clockwise) or CFF OpenType (cubic,
counter-clockwise) font with cmap (format 4, and 12 beyond the BMP), horizontal and vertical
metrics, OS/2 code-page bits for Chinese and names in English and Chinese.

Why placement matters more than tracing: ``unet.glyphs`` fits every glyph's ink box into 112 px and
centres it, so size and position are gone from the bitmap. Each outline is put back by inverting
the source character's own normalisation (its ink box in font units <-> its ink box on the canvas),
then moved and scaled as the style's real font differs from the source (``StyleMetrics``);
``python -m benchmarks.font_fidelity`` measures both against the alternatives.

Names: the font never carries another font's Reserved Font Name (LXGW WenKai reserves "LXGW" and
"霞鹜"), and its name table says the glyphs are machine-generated, by which model, in which style.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pathops
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.recordingPen import RecordingPen
from fontTools.pens.roundingPen import RoundingPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.transformPen import TransformPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from PIL import Image

from .charsets import gb2312_level1, resolve_charset
from .glyphs import Font, Skipped, split_text
from .request import GenerationError
from .trace import TraceError, pick_vectorizer, trace

UPM = 1000  # units per em of every exported font
BATCH = 64  # characters per Stylizer call (its per-request limit)
CU2QU_ERROR = 1.0  # font units a quadratic (TrueType) curve may stray from potrace's cubic
# Never in our names: LXGW WenKai's Reserved Font Names (SIL OFL), and Arphic's "AR PL" vendor prefix
# (not an OFL font; a name with it would read as Arphic's own release).
RESERVED_NAMES = ("LXGW", "霞鹜", "AR PL")
STYLE_SAMPLE = slice(1000, 1500)  # GB2312 level-1 characters a style's metrics are measured on
LICENSE = ("This Font Software is licensed under the SIL Open Font License, Version 1.1. "
           "This license is available with a FAQ at: https://openfontlicense.org")
LICENSE_URL = "https://openfontlicense.org"
FORMATS = ("ttf", "otf")
GB2312_BIT, BIG5_BIT = 18, 20  # OS/2 ulCodePageRange1: Chinese Simplified (cp936), Traditional (cp950)

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


class ExportError(GenerationError):
    """A font export that cannot be done, with a message meant for the person who asked for it."""


# --- placement -------------------------------------------------------------------------------

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


def replay(contours: Sequence[Sequence], pen) -> None:
    for contour in contours:
        for op, pts in contour:
            getattr(pen, op)(*pts)


# --- building ---------------------------------------------------------------------------------

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
               metrics: dict | None = None) -> TTFont:
    """A complete font from prepared glyphs. ``metrics``: ascender/descender/line gap (font units)."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {FORMATS}, got {fmt!r}")
    if not glyphs:
        raise ExportError("no glyphs to put in the font")
    names.check()
    m = {"ascender": 880, "descender": -120, "line_gap": 0, **(metrics or {})}
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


@dataclass(frozen=True)
class StyleMetrics:
    """Where a style's real font puts its characters relative to the source font, as medians over
    ``STYLE_SAMPLE``: the model's bitmaps cannot say (every glyph is fitted into the same box), the
    font can. Identity where the real font is not installed.

    Measured by ``python -m benchmarks.font_fidelity`` on other characters: ink IoU against the real
    font in the em square rose from 0.50 to 0.67 (WenKai), 0.50 to 0.54 (UKai), 0.63 to 0.78 (Smiley
    Sans) over placing by the source's ink box alone."""

    advance: int = UPM  # advance width of a Chinese character
    scale: float = 1.0  # longer side of the ink box, style / source
    dx: float = 0.0  # ink-box centre relative to the middle of the advance, style - source (units)
    dy: float = 0.0  # ink-box centre height, style - source (units)

    @classmethod
    def measure(cls, source: Font, target: Font | None) -> StyleMetrics:
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


def style_metrics(stylizer, style: str) -> StyleMetrics:
    return StyleMetrics.measure(stylizer.source_font, stylizer.target_font(style))


def placement_matrix(place: Placement, source_font: Font, ch: str, style: StyleMetrics) -> tuple:
    """Canvas px -> font units for ``ch``: the source's placement, moved and scaled by the style."""
    k = place.scale * style.scale
    (cx, cy), (fx, fy) = place.canvas_center, place.font_center
    fx += (style.advance - source_font.advance(ch) * UPM / source_font.units_per_em) / 2 + style.dx
    fy += style.dy
    return (k, 0, 0, -k, fx - cx * k, fy + cy * k)


def outline_glyph(ch: str, bitmap: Image.Image, source_font: Font, source_image: Image.Image,
                  vectorizer: str = "potrace", style: StyleMetrics = StyleMetrics()) -> FontGlyph:
    """One glyph bitmap (normalised as ``unet.glyphs`` renders) -> a font glyph placed where
    ``source_font`` has ``ch`` (``source_image``: that character as the model saw it), then moved
    and scaled as the style's real font differs from the source (``style``)."""
    try:
        contours = trace(bitmap, vectorizer)
    except TraceError as e:
        raise ExportError(f"tracing {ch!r} failed: {e}") from e
    matrix = placement_matrix(Placement.from_source(source_font, ch, source_image), source_font, ch, style)
    return FontGlyph(ch, clean_path(lambda pen: replay(contours, TransformPen(pen, matrix)), even_odd=True),
                     advance=style.advance)


# --- export -----------------------------------------------------------------------------------

@dataclass
class ExportReport:
    """What an export did: the file, which characters were generated or kept, skipped ones and why."""

    path: Path
    fmt: str
    vectorizer: str
    family: str
    generated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    size: int = 0

    def counts(self) -> str:
        """How many glyphs were generated, kept and skipped, and which vectoriser traced them."""
        return (f"{len(self.generated)} generated"
                + (f", {len(self.kept)} kept from the real font" if self.kept else "")
                + f", {len(self.skipped)} skipped; outlines traced with {self.vectorizer}")

    def summary(self) -> str:
        lines = [f"wrote {self.path} ({self.fmt.upper()}, {self.size / 1e6:.2f} MB, family "
                 f"{self.family!r}): {self.counts()}"]
        for reason, count in Counter(s.reason for s in self.skipped).most_common():
            examples = "".join(s.char for s in self.skipped if s.reason == reason)[:10]
            lines.append(f"  skipped {count}: {reason} (e.g. {examples!r})")
        if self.seconds:
            lines.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(lines)


def is_ofl(font: Font) -> bool:
    """True when the font says it is under the SIL Open Font License (which allows modified
    versions under another name): the only kind of font complete mode copies glyphs from."""
    text = f"{font.name_record(13)} {font.name_record(14)}"
    return "open font license" in text.casefold() or "scripts.sil.org/ofl" in text.casefold()


def plan_export(stylizer, text: str, style: str, complete: bool = False,
                max_chars: int | None = None) -> tuple[list[str], list[str], list[Skipped]]:
    """Split the requested characters into (to generate, to keep from the real font, skipped).

    Raises ``ExportError`` when nothing would be in the font or the request is over ``max_chars``.
    """
    chars, skipped = split_text(text, stylizer.source_font)
    skipped = [s for s in skipped if not s.char.isspace()]  # separators, not characters asked for
    kept: list[str] = []
    if complete:
        target = stylizer.target_font(style)
        if target is None:
            raise ExportError(f"complete mode needs the real {style!r} font installed; it is not")
        if not is_ofl(target):
            raise ExportError(f"complete mode copies glyphs only from fonts under the SIL Open Font "
                              f"License; {style!r} is not, so generate every character instead")
        notice = target.name_record(0).casefold()
        if any(word.casefold() in notice for word in RESERVED_NAMES):
            # the OFL would make us keep that notice, and no exported byte may carry a reserved name
            raise ExportError(f"complete mode would have to keep the copyright notice of "
                              f"{without_reserved(style)!r}, which carries its Reserved Font Name; "
                              f"generate every character instead")
        kept, _ = split_text(text, target)  # the characters the real font draws
        kept_set = set(kept)
        chars = [c for c in chars if c not in kept_set]
        skipped = [s for s in skipped if s.char not in kept_set]
    total = len(chars) + len(kept)
    if total == 0:
        shown = "; ".join(str(s) for s in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        raise ExportError("no characters to export" + (f": {shown}" if shown else ""))
    if max_chars is not None and total > max_chars:
        raise ExportError(f"{total} characters asked for; at most {max_chars} per export here")
    return chars, kept, skipped


def describe(stylizer, style: str, generated: Sequence[str], kept: Sequence[str]) -> str:
    model = without_reserved(stylizer.directory.name)
    text = (f"Machine-generated glyphs: drawn by the Glyph Attention model '{model}' in the style "
            f"it learned as '{without_reserved(style)}', from the source font "
            f"{stylizer.source_font.name}, traced and placed by unet.font.")
    if kept:
        text += (f" {len(kept)} glyphs are the original font's own; {len(generated)} are "
                 f"machine-generated: {''.join(generated)}")
    else:
        text += f" All {len(generated)} glyphs are machine-generated."
    return text


def export_font(stylizer, text: str, out: str | Path, style: str | None = None, fmt: str | None = None,
                complete: bool = False, vectorizer: str = "auto", family: str | None = None,
                max_chars: int | None = None, progress: Progress | None = None) -> ExportReport:
    """Generate, trace, place and build a font of the characters of ``text``; write it to ``out``.

    The file appears whole or not at all (written to a temporary file beside it, then renamed).
    """
    started = time.perf_counter()
    out = Path(out)
    fmt = (fmt or ("otf" if out.suffix.lower() == ".otf" else "ttf")).lower()
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {FORMATS}, got {fmt!r}")
    try:
        vectorizer = pick_vectorizer(vectorizer)
    except ValueError as e:
        raise ExportError(str(e)) from e
    style = stylizer.request("永", style).style  # validates the style name once, as every request
    chars, kept, skipped = plan_export(stylizer, text, style, complete, max_chars)
    style_words = without_reserved(style)
    names = FontNames(family=family or f"Glyph Attention {style_words}",
                      family_zh=family or f"字形注意力 {style_words}",
                      description=describe(stylizer, style, chars, kept),
                      copyright=_copyright(stylizer, style, bool(kept)))
    names.check()  # build_font checks again; this fails before minutes of work, not after
    handle = _open_output(out)  # fails now, not after minutes of work, if out is not writable
    try:
        glyphs, seconds = _make_glyphs(stylizer, chars, kept, style, vectorizer, progress)
        t0 = time.perf_counter()
        font = build_font(glyphs, names, fmt, _metrics(stylizer.source_font))
        font.save(handle)
        handle.close()
        seconds["build"] = time.perf_counter() - t0
        os.replace(handle.name, out)
    except BaseException:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise
    seconds["total"] = time.perf_counter() - started
    return ExportReport(out, fmt, vectorizer, names.family, list(chars), kept, skipped, seconds,
                        out.stat().st_size)


def _open_output(out: Path):
    if out.is_dir():
        raise ExportError(f"cannot write the font to {out}: it is a folder")
    try:
        return tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".part",
                                           delete=False)
    except OSError as e:
        raise ExportError(f"cannot write the font to {out}: {e.strerror or e}") from e


def _copyright(stylizer, style: str, with_kept: bool) -> str:
    text = (f"Outlines machine-generated with Glyph Attention; glyph positions and metrics from "
            f"{stylizer.source_font.name} ({stylizer.source_font.name_record(0)[:200]})")
    if with_kept:  # the OFL asks modified versions to keep the original copyright notice
        text += f"; original glyphs: {stylizer.target_font(style).name_record(0)}"
    return text


def _metrics(source: Font) -> dict:
    """Typographic ascender/descender/line gap of the source font, scaled to UPM."""
    k = UPM / source.units_per_em
    return {name: round(v * k) for name, v in zip(("ascender", "descender", "line_gap"), source.typo_metrics())}


def _make_glyphs(stylizer, chars: Sequence[str], kept: Sequence[str], style: str, vectorizer: str,
                 progress: Progress | None) -> tuple[list[FontGlyph], dict[str, float]]:
    """Generate ``chars`` in batches while earlier batches are traced on a second thread."""
    seconds = {"generate": 0.0, "trace": 0.0}
    by_char: dict[str, FontGlyph] = {}
    metrics = style_metrics(stylizer, style)
    count = {"generated": 0, "traced": 0, "kept": 0}
    steps = max(1, 2 * len(chars) + len(kept))  # a generated glyph is two steps: draw, trace

    def report():
        if progress is not None:
            message = f"generated {count['generated']} and traced {count['traced']} of {len(chars)} glyphs"
            if kept:
                message += f"; copied {count['kept']} of {len(kept)}"
            progress((count["generated"] + count["traced"] + count["kept"]) / steps, message)

    def vectorise(ch, generated, source):
        t = time.perf_counter()
        glyph = outline_glyph(ch, generated, stylizer.source_font, source, vectorizer, metrics)
        return glyph, time.perf_counter() - t

    def collect(future):
        glyph, spent = future.result()
        by_char[glyph.char] = glyph
        seconds["trace"] += spent
        count["traced"] += 1

    report()
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = []
        for start in range(0, len(chars), BATCH):
            t = time.perf_counter()
            gen = stylizer.run(stylizer.request("".join(chars[start:start + BATCH]), style), with_target=False)
            seconds["generate"] += time.perf_counter() - t
            count["generated"] += len(gen.chars)
            pending += [pool.submit(vectorise, c, g, s) for c, g, s in zip(gen.chars, gen.generated, gen.source)]
            while pending and pending[0].done():
                collect(pending.pop(0))
            report()
        for i, future in enumerate(pending):
            collect(future)
            if i % 16 == 15:
                report()
    if kept:
        target = stylizer.target_font(style)
        k = UPM / target.units_per_em
        for ch in kept:
            recorder = RecordingPen()
            width = target.draw(ch, recorder)
            path = clean_path(lambda pen, rec=recorder: rec.replay(TransformPen(pen, (k, 0, 0, k, 0, 0))),
                              even_odd=False)
            by_char[ch] = FontGlyph(ch, path, advance=round(width * k))
            count["kept"] += 1
    report()
    return [by_char[c] for c in sorted(by_char, key=ord)], seconds


# --- command line -----------------------------------------------------------------------------

def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m unet.font", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--charset", required=True,
                   help="named charset(s) joined by + (gb2312-1, big5-1, ...), a UTF-8 text file, or "
                        "the characters themselves")
    p.add_argument("--out", required=True, help="font file to write (.ttf or .otf)")
    p.add_argument("--style", default=None, help="style name (default: the model's first)")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: from --out's suffix, else ttf")
    p.add_argument("--complete", action="store_true",
                   help="keep the real font's own glyphs where it has them; generate only the rest")
    p.add_argument("--vectorizer", default="auto", choices=("auto", "potrace", "contours"))
    p.add_argument("--family", default=None, help="family name (default: 'Glyph Attention <style>')")
    p.add_argument("--checkpoint", default=None, help="directory or Hub repo id (default: shipped model)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    a = p.parse_args(argv)
    import torch
    from tqdm.auto import tqdm

    from .checkpoint import CheckpointError
    from .glyphs import FontError
    from .stylizer import Stylizer

    if a.threads:
        torch.set_num_threads(a.threads)
    bar = None

    def progress(fraction, message):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {elapsed}<{remaining}")
        bar.set_description(message)
        bar.update(round(100 * fraction) - bar.n)

    try:
        text = "".join(resolve_charset(a.charset))
        st = Stylizer.from_pretrained(a.checkpoint)
        report = export_font(st, text, a.out, a.style, a.format, a.complete, a.vectorizer, a.family,
                             progress=progress)
    except (ExportError, GenerationError, CheckpointError, FontError, ValueError) as e:
        if bar is not None:
            bar.close()
        print(f"error: {e}", file=sys.stderr)
        return 2
    bar.close()
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
