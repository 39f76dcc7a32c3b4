"""Export generated glyphs as an installable font: ``python -m unet.font --style ... --charset ... --out F.ttf``.

An export enters once, through ``plan_export``: the format, the vectoriser, the style (checked as every
request is), the characters (split from the text once: to generate, to keep from the real font, or
skipped with a reason), the limits and the font's names are all checked there, and the ``ExportPlan``
it returns travels inward. ``write_font`` then, per character: the model draws it
(``Stylizer.draw``), a vectoriser traces the bitmap (``trace``), the outline is put where the source
font had that character (``placement``), and ``build_font`` writes the file.

Every export also holds the glyphs a text needs besides Chinese characters (``text_glyphs``):
spaces (U+0020, U+00A0, U+3000), basic Latin and digits, the full-width punctuation of Chinese text
and its vertical forms (GSUB ``vert``/``vrt2``), copied from a subset of Noto Serif CJK SC (SIL OFL
1.1) shipped in ``assets/fonts``. Line height and underline come from the style's real font where it
is installed (``line_metrics``); names and version say the style, the character set and the date.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fontTools.pens.recordingPen import RecordingPen, replayRecording
from fontTools.pens.transformPen import TransformPen
from fontTools.ttLib import TTFont
from PIL import Image

from ..engine.glyphs import ASSETS, Font, Skipped, split_text
from ..engine.request import Request, parse_flag
from ..engine.visualize import tensor_to_image
from ..errors import ExportError, shown
from ..settings import EXPORT_BATCH
from .build import (
    FAMILY_MAX,
    FORMATS,
    RESERVED_NAMES,
    UPM,
    FontGlyph,
    FontNames,
    LineMetrics,
    build_font,
    clean_path,
    replay,
    without_reserved,
)
from .placement import Placement, StyleGeometry, placement_matrix, style_geometry
from .trace import TraceError, pick_vectorizer, trace

Progress = Callable[[float, str], None]  # (fraction done, what is happening)

# The glyphs for setting text (spaces, Latin, punctuation and its vertical forms): an OFL font shipped
# in assets/fonts, its licence beside it (OFL-NotoSerifCJK.txt, which says how the subset was made)
TEXT_FONT = ASSETS / "fonts" / "NotoSerifCJKsc-Regular-text-subset.otf"
TEXT_FONT_NAME = "Noto Serif CJK SC"
TEXT_FEATURES = ("vert", "vrt2")  # vertical forms, as the text font's default language system has them
DEFAULT_LINE_HEIGHT = 1200  # 1.2 em, where the style's real font is not installed


def outline_glyph(ch: str, bitmap: Image.Image, source_font: Font, source_image: Image.Image,
                  vectorizer: str = "potrace", style: StyleGeometry = StyleGeometry()) -> FontGlyph:
    """One glyph bitmap (normalised as ``unet.engine.glyphs`` renders) -> a font glyph placed where
    ``source_font`` has ``ch`` (``source_image``: that character as the model saw it), then moved
    and scaled as the style's real font differs from the source (``style``)."""
    try:
        contours = trace(bitmap, vectorizer)
    except TraceError as e:
        raise ExportError(f"tracing {ch!r} failed: {e}") from e
    matrix = placement_matrix(Placement.from_source(source_font, ch, source_image), source_font, ch, style)
    return FontGlyph(ch, clean_path(lambda pen: replay(contours, TransformPen(pen, matrix)), even_odd=True),
                     advance=style.advance)


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
    text: int = 0  # characters copied to set text with (spaces, punctuation, Latin: TEXT_FONT)

    def counts(self) -> str:
        """How many glyphs were generated, kept and skipped, and which vectoriser traced them."""
        return (f"{len(self.generated)} generated"
                + (f", {len(self.kept)} kept from the real font" if self.kept else "")
                + f", {len(self.skipped)} skipped; outlines traced with {self.vectorizer}"
                + (f"; plus {self.text} characters to set text with (spaces, punctuation, Latin) "
                   f"from {TEXT_FONT_NAME}" if self.text else ""))

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


@dataclass(frozen=True)
class ExportPlan:
    """A font export, checked where it entered (``plan_export``); nothing after checks it again."""

    request: Request  # the style, checked as every request is (its text: what was asked for)
    fmt: str  # one of FORMATS
    vectorizer: str  # one of VECTORIZERS, installed
    names: FontNames  # free of reserved names
    chars: list[str]  # to generate: drawable by the source font, in text order, once each
    kept: list[str]  # to copy from the style's real font (complete mode)
    skipped: list[Skipped]  # neither, with the reason

    @property
    def style(self) -> str:
        return self.request.style


def format_for(out: str | Path, fmt: str | None = None) -> str:
    """The format a caller asked for, else the one ``out``'s suffix names (``.otf``), else TTF."""
    return (fmt or ("otf" if Path(out).suffix.lower() == ".otf" else "ttf")).lower()


def plan_export(stylizer, text: str, style: str | None = None, fmt: str = "ttf", complete: bool | None = False,
                vectorizer: str = "auto", family: str | None = None,
                max_chars: int | None = None) -> ExportPlan:
    """Check an export and split the requested characters into (to generate, to keep from the real
    font, skipped), once. Raises ``ExportError`` (or ``GenerationError`` for the style and for
    ``complete``, which must be True, False or None) with a message for the person who asked: a bad
    format, nothing that would be in the font, more than ``max_chars`` characters, a reserved name.

    Takes the values as a caller received them (``complete`` not passed through ``bool()``, which
    reads the text "false" as True)."""
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ExportError(f"format must be {' or '.join(repr(f) for f in FORMATS)}, got {shown(fmt)}")
    complete = parse_flag(complete, "the complete option")
    vectorizer = pick_vectorizer(vectorizer)
    req = stylizer.request(text, style)  # the style (and the text's type) checked as every request
    style = req.style
    chars, skipped = split_text(req.text, stylizer.source_font)
    skipped = [s for s in skipped if not s.char.isspace()]  # separators, not characters asked for
    kept: list[str] = []
    own = getattr(stylizer, "own", {}).get(style)  # a visitor's own style: their glyphs are kept
    if complete and own is not None:
        kept = [c for c in chars if c in own.glyphs]
        kept_set = set(kept)
        chars = [c for c in chars if c not in kept_set]
    elif complete:
        target = stylizer.target_font(style)
        if target is None:
            raise ExportError(f"complete mode needs the real {style!r} font installed; it is not")
        if not is_ofl(target):
            raise ExportError(f"complete mode copies glyphs only from fonts under the SIL Open Font "
                              f"License; {style!r} is not, so generate every character instead")
        notice = target.name_record(0).casefold()
        if any(word.casefold() in notice for word in RESERVED_NAMES):
            # The OFL (condition 2) would make us keep that notice word for word. The licence itself
            # would allow it (condition 3 restricts a Reserved Font Name only as the primary font
            # name), but this project's rule is stricter: no exported byte carries a reserved name.
            raise ExportError(f"complete mode would have to keep the copyright notice of "
                              f"{without_reserved(style)!r}, which carries its Reserved Font Name; "
                              f"generate every character instead")
        kept, _ = split_text(req.text, target)  # the characters the real font draws
        kept_set = set(kept)
        chars = [c for c in chars if c not in kept_set]
        skipped = [s for s in skipped if s.char not in kept_set]
    total = len(chars) + len(kept)
    if total == 0:
        examples = "; ".join(str(s) for s in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        raise ExportError("no characters to export" + (f": {examples}" if examples else ""), key="font.error.empty")
    if max_chars is not None and total > max_chars:
        raise ExportError(f"{total} characters asked for; at most {max_chars} per export here",
                          key="font.error.too_many", count=total, limit=max_chars)
    style_words = without_reserved(stylizer.label(style) if own is not None else style)
    charset = sorted(set(chars) | set(kept))
    names = FontNames(family=family or family_name(style_words, len(charset)),
                      family_zh=family or family_name(style_words, len(charset), ("字形注意力", "GA")),
                      description=describe(stylizer, style, chars, kept),
                      copyright=_copyright(stylizer, style, bool(kept) and own is None),
                      edition=edition(charset))
    names.check()  # fails before minutes of work, not after
    return ExportPlan(req, fmt, vectorizer, names, chars, kept, skipped)


def family_name(style_words: str, count: int,
                prefixes: Sequence[str] = ("Glyph Attention", "GlyphAttention", "GA")) -> str:
    """"Glyph Attention <style> <number of characters>": two exports of a style with different
    character sets install side by side, under names a person can tell apart. Where that is longer
    than FAMILY_MAX characters (Windows cuts longer family names) the prefix shrinks, first to
    "GlyphAttention", then to "GA", and last the style words are cut (the Chinese name: ``prefixes``
    ("字形注意力", "GA"))."""
    for prefix in prefixes:
        name = f"{prefix} {style_words} {count}"
        if len(name) <= FAMILY_MAX:
            return name
    return f"{prefixes[-1]} {style_words}"[:FAMILY_MAX - len(f" {count}")].rstrip() + f" {count}"


def edition(charset: Sequence[str], when: float | None = None) -> str:
    """What tells an export apart in its version string and unique ID: how many characters, a hash
    of which (the same set gives the same 8 hex digits), and the day (UTC; SOURCE_DATE_EPOCH where
    set, for reproducible builds)."""
    digest = hashlib.sha256("".join(sorted(charset)).encode()).hexdigest()[:8]
    if when is None:
        when = float(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    return f"{len(charset)} characters (set {digest}); {time.strftime('%Y-%m-%d', time.gmtime(when))}"


def describe(stylizer, style: str, generated: Sequence[str], kept: Sequence[str]) -> str:
    model = without_reserved(stylizer.directory.name)
    own = getattr(stylizer, "own", {}).get(style)
    learned = f"a style a person taught it, '{without_reserved(own.label)}'" if own is not None else \
        f"the style it learned as '{without_reserved(style)}'"
    text = (f"Machine-generated glyphs: drawn by the Glyph Attention model '{model}' in {learned}, from "
            f"the source font {stylizer.source_font.name}, traced and placed by unet.font.")
    if kept:
        whose = "traced from the glyphs that person gave" if own is not None else "the original font's own"
        text += (f" {len(kept)} glyphs are {whose}; {len(generated)} are "
                 f"machine-generated: {''.join(generated)}")
    else:
        text += f" All {len(generated)} Chinese characters are machine-generated."
    return text + (f" Spaces, punctuation (and its vertical forms), Latin letters and digits are "
                   f"{TEXT_FONT_NAME}'s own (SIL Open Font License 1.1).")


def export_font(stylizer, text: str, out: str | Path, style: str | None = None, fmt: str | None = None,
                complete: bool = False, vectorizer: str = "auto", family: str | None = None,
                max_chars: int | None = None, progress: Progress | None = None) -> ExportReport:
    """Generate, trace, place and build a font of the characters of ``text``; write it to ``out``
    (``fmt``: default from ``out``'s suffix). ``plan_export`` and ``write_font`` in one call."""
    plan = plan_export(stylizer, text, style, format_for(out, fmt), complete, vectorizer, family, max_chars)
    return write_font(stylizer, plan, out, progress)


def write_font(stylizer, plan: ExportPlan, out: str | Path, progress: Progress | None = None) -> ExportReport:
    """Carry out a checked export. The file appears whole or not at all (written to a temporary file
    beside it, then renamed)."""
    started = time.perf_counter()
    out = Path(out)
    handle = _open_output(out)  # fails now, not after minutes of work, if out is not writable
    try:
        glyphs, substitutions, text, seconds = _make_glyphs(stylizer, plan, progress)
        t0 = time.perf_counter()
        metrics = line_metrics(stylizer.source_font, stylizer.target_font(plan.style))
        font = build_font(glyphs, plan.names, plan.fmt, metrics, substitutions)
        font.save(handle)
        handle.close()
        seconds["build"] = time.perf_counter() - t0
        os.chmod(handle.name, _file_mode())  # a temporary file is 0600; a font is for everyone to read
        os.replace(handle.name, out)
    except BaseException:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise
    seconds["total"] = time.perf_counter() - started
    return ExportReport(out, plan.fmt, plan.vectorizer, plan.names.family, list(plan.chars), list(plan.kept),
                        list(plan.skipped), seconds, out.stat().st_size, text)


def _file_mode() -> int:
    """The mode a new file gets here (0666 less the umask, as open() gives: 0644 by default). Read
    from /proc, not set and reset with os.umask, which would race with other threads' files."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


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
            f"{stylizer.source_font.name} ({stylizer.source_font.name_record(0)[:200]}); spaces, "
            f"punctuation, Latin letters and digits: {TEXT_FONT_NAME} ({_text_source().notice[:200]})")
    if with_kept:  # the OFL asks modified versions to keep the original copyright notice
        text += f"; original glyphs: {stylizer.target_font(style).name_record(0)}"
    return text


def line_metrics(source: Font, target: Font | None) -> LineMetrics:
    """The em box of the source font (where the glyphs are placed; also the vertical origin), with
    the line height and underline of the style's real font, as browsers on Linux and macOS set it
    (hhea, or the typographic metrics where it says USE_TYPO_METRICS), else a 1.2 em line."""
    k = UPM / source.units_per_em
    ascender, descender, _ = (round(v * k) for v in source.line_spacing())
    height, underline = DEFAULT_LINE_HEIGHT, (LineMetrics.underline_position, LineMetrics.underline_thickness)
    if target is not None:
        real = _real_metrics(str(target.path), target.face_index)
        if real is not None:
            height, underline = real
    return LineMetrics(ascender, descender, max(0, height - (ascender - descender)), *underline)


@functools.lru_cache(maxsize=16)
def _real_metrics(path: str, face_index: int) -> tuple[int, tuple[int, int]] | None:
    """(line height, (underline position, thickness)) of a font file, in UPM units; None if unreadable."""
    try:
        font = TTFont(path, fontNumber=face_index, lazy=True)
        k = UPM / font["head"].unitsPerEm
        os2, hhea, post = font["OS/2"], font["hhea"], font["post"]
        if os2.fsSelection & 0x80:  # USE_TYPO_METRICS
            ascent, descent, gap = os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap
        else:
            ascent, descent, gap = hhea.ascent, hhea.descent, hhea.lineGap
        underline = (round(post.underlinePosition * k), round(post.underlineThickness * k))
        if underline[1] <= 0:
            underline = (LineMetrics.underline_position, LineMetrics.underline_thickness)
        return round((ascent - descent + gap) * k), underline
    except Exception:  # a font the model learned from but that fontTools cannot read: the default
        return None


@dataclass(frozen=True)
class _TextSource:
    """What ``TEXT_FONT`` holds, read once: per character its glyph, and the vertical forms."""

    upm: int
    notice: str  # its copyright notice (name 0), which every export keeps
    glyphs: dict  # glyph name -> (recorded outline, advance)
    cmap: dict  # character -> glyph name
    features: dict  # feature tag -> {glyph name: glyph name}


@functools.lru_cache(maxsize=1)
def _text_source() -> _TextSource:
    font = TTFont(TEXT_FONT)
    cmap = {chr(c): n for c, n in font.getBestCmap().items()}
    features = {tag: _single_substitutions(font, tag) for tag in TEXT_FEATURES}
    wanted = set(cmap.values()) | {n for m in features.values() for n in m.values()}
    glyph_set, glyphs = font.getGlyphSet(), {}
    for n in sorted(wanted):
        rec = RecordingPen()
        glyph_set[n].draw(rec)
        glyphs[n] = (tuple(rec.value), font["hmtx"][n][0])
    return _TextSource(font["head"].unitsPerEm, font["name"].getDebugName(0) or "", glyphs, cmap, features)


def _single_substitutions(font: TTFont, tag: str) -> dict[str, str]:
    """The single substitutions a GSUB feature makes in the default language system of the default
    script (what a text in no particular language gets), in lookup order."""
    gsub = font["GSUB"].table if "GSUB" in font else None
    if gsub is None:
        return {}
    records = {r.ScriptTag: r.Script for r in gsub.ScriptList.ScriptRecord}
    script = records.get("DFLT") or records.get("hani")
    if script is None or script.DefaultLangSys is None:
        return {}
    mapping: dict[str, str] = {}
    for index in script.DefaultLangSys.FeatureIndex:
        record = gsub.FeatureList.FeatureRecord[index]
        if record.FeatureTag != tag:
            continue
        for lookup_index in record.Feature.LookupListIndex:
            lookup = gsub.LookupList.Lookup[lookup_index]
            for sub in lookup.SubTable:
                sub = getattr(sub, "ExtSubTable", sub)
                for a, b in (getattr(sub, "mapping", None) or {}).items():
                    mapping.setdefault(a, b)  # the first lookup to substitute a glyph wins
    return mapping


def text_glyphs(advance: int = UPM) -> tuple[list[FontGlyph], dict[str, dict[str, str]]]:
    """The glyphs every export holds to set text with, and their GSUB substitutions (feature ->
    {glyph name: glyph name}), in font units. ``advance``: the style's advance of a Chinese character;
    full-width glyphs (punctuation, U+3000 and their vertical forms) take it, moved by half the
    difference but kept inside their advance where they fit, so that they keep to the characters' grid."""
    src = _text_source()
    k = UPM / src.upm
    out: list[FontGlyph] = []

    def glyph(source_name: str, char: str, name: str = "") -> FontGlyph:
        recorded, width = src.glyphs[source_name]
        path = clean_path(lambda pen: replayRecording(recorded, TransformPen(pen, (k, 0, 0, k, 0, 0))),
                          even_odd=False)
        width = round(width * k)
        if width == UPM and advance != UPM:  # full width: onto the style's grid
            dx = (advance - UPM) / 2
            if len(path) and path.bounds[2] - path.bounds[0] <= advance:
                dx = min(max(dx, -path.bounds[0]), advance - path.bounds[2])
            path, width = path.transform(translateX=dx), advance
        return FontGlyph(char, path, advance=width, glyph_name=name)

    for ch, source_name in sorted(src.cmap.items()):
        out.append(glyph(source_name, ch))
    names_of = {g.char: g.name for g in out}  # our name of each character's glyph
    vertical: dict[str, str] = {}  # source vertical form -> our name for it
    substitutions: dict[str, dict[str, str]] = {}
    for tag, mapping in src.features.items():
        subs = {}
        for ch, source_name in sorted(src.cmap.items()):
            target = mapping.get(source_name)
            if target is None:
                continue
            if target not in vertical:
                vertical[target] = f"{names_of[ch]}.vert"
                out.append(glyph(target, "", vertical[target]))
            subs[names_of[ch]] = vertical[target]
        substitutions[tag] = subs
    return out, substitutions


def _make_glyphs(stylizer, plan: ExportPlan, progress: Progress | None,
                 ) -> tuple[list[FontGlyph], dict[str, dict[str, str]], int, dict[str, float]]:
    """Draw the plan's characters in batches while earlier batches are traced on a second thread;
    add the kept ones (complete mode) and the glyphs to set text with. Returns the glyphs, their
    GSUB substitutions, how many characters the text glyphs add, and the seconds per stage."""
    chars, kept, style, vectorizer = plan.chars, plan.kept, plan.style, plan.vectorizer
    seconds = {"generate": 0.0, "trace": 0.0}
    by_char: dict[str, FontGlyph] = {}
    geometry = style_geometry(stylizer, style)
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
        glyph = outline_glyph(ch, generated, stylizer.source_font, source, vectorizer, geometry)
        return glyph, time.perf_counter() - t

    def collect(future):
        glyph, spent = future.result()
        by_char[glyph.char] = glyph
        seconds["trace"] += spent
        count["traced"] += 1

    report()
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = []
        for start in range(0, len(chars), EXPORT_BATCH):
            t = time.perf_counter()
            gen = stylizer.draw(chars[start:start + EXPORT_BATCH], plan.request, with_target=False)
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
    own = getattr(stylizer, "own", {}).get(style)
    if kept and own is not None:  # the visitor's own glyphs, traced and placed as generated ones
        sources = stylizer.render_sources(kept)
        for ch, source in zip(kept, sources):
            glyph, spent = vectorise(ch, Image.fromarray(own.glyphs[ch], "L"), tensor_to_image(source))
            by_char[ch] = glyph
            seconds["trace"] += spent
            count["kept"] += 1
    elif kept:
        target = stylizer.target_font(style)
        k = UPM / target.units_per_em
        for ch in kept:
            recorder = RecordingPen()
            width = target.draw(ch, recorder)
            path = clean_path(lambda pen, rec=recorder: rec.replay(TransformPen(pen, (k, 0, 0, k, 0, 0))),
                              even_odd=False)
            by_char[ch] = FontGlyph(ch, path, advance=round(width * k))
            count["kept"] += 1
    text, substitutions = text_glyphs(geometry.advance)
    text = [g for g in text if g.char not in by_char]  # the model's own glyph, where it drew one
    report()
    glyphs = [by_char[c] for c in sorted(by_char, key=ord)]
    return glyphs + text, substitutions, sum(1 for g in text if g.char), seconds


