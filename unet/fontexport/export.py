"""Export generated glyphs as an installable font: ``python -m unet.font --style ... --charset ... --out F.ttf``.

An export enters once, through ``plan_export``: the format, the vectoriser, the style (checked as every
request is), the characters (split from the text once: to generate, to keep from the real font, or
skipped with a reason), the limits and the font's names are all checked there, and the ``ExportPlan``
it returns travels inward. ``write_font`` then, per character: the model draws it
(``Stylizer.draw``), a vectoriser traces the bitmap (``trace``), the outline is put where the source
font had that character (``placement``), and ``build_font`` writes the file.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fontTools.pens.recordingPen import RecordingPen
from fontTools.pens.transformPen import TransformPen
from PIL import Image

from ..engine.glyphs import Font, Skipped, split_text
from ..engine.request import Request, parse_flag
from ..errors import ExportError, shown
from ..settings import EXPORT_BATCH
from .build import (
    FORMATS,
    RESERVED_NAMES,
    UPM,
    FontGlyph,
    FontNames,
    build_font,
    clean_path,
    replay,
    without_reserved,
)
from .placement import Placement, StyleGeometry, placement_matrix, style_geometry
from .trace import TraceError, pick_vectorizer, trace

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


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
        kept, _ = split_text(req.text, target)  # the characters the real font draws
        kept_set = set(kept)
        chars = [c for c in chars if c not in kept_set]
        skipped = [s for s in skipped if s.char not in kept_set]
    total = len(chars) + len(kept)
    if total == 0:
        examples = "; ".join(str(s) for s in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        raise ExportError("no characters to export" + (f": {examples}" if examples else ""))
    if max_chars is not None and total > max_chars:
        raise ExportError(f"{total} characters asked for; at most {max_chars} per export here")
    style_words = without_reserved(style)
    names = FontNames(family=family or f"Glyph Attention {style_words}",
                      family_zh=family or f"字形注意力 {style_words}",
                      description=describe(stylizer, style, chars, kept),
                      copyright=_copyright(stylizer, style, bool(kept)))
    names.check()  # fails before minutes of work, not after
    return ExportPlan(req, fmt, vectorizer, names, chars, kept, skipped)


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
        glyphs, seconds = _make_glyphs(stylizer, plan, progress)
        t0 = time.perf_counter()
        font = build_font(glyphs, plan.names, plan.fmt, _line_spacing(stylizer.source_font))
        font.save(handle)
        handle.close()
        seconds["build"] = time.perf_counter() - t0
        os.replace(handle.name, out)
    except BaseException:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise
    seconds["total"] = time.perf_counter() - started
    return ExportReport(out, plan.fmt, plan.vectorizer, plan.names.family, list(plan.chars), list(plan.kept),
                        list(plan.skipped), seconds, out.stat().st_size)


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


def _line_spacing(source: Font) -> dict:
    """Typographic ascender/descender/line gap of the source font, scaled to UPM."""
    k = UPM / source.units_per_em
    return {name: round(v * k) for name, v in zip(("ascender", "descender", "line_gap"), source.line_spacing())}


def _make_glyphs(stylizer, plan: ExportPlan, progress: Progress | None,
                 ) -> tuple[list[FontGlyph], dict[str, float]]:
    """Draw the plan's characters in batches while earlier batches are traced on a second thread."""
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


