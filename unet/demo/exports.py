"""Font export in the demo: heavy work, scheduled apart from the live demo, fonts handed to the page.

An export is checked when it is asked for (``plan_export``, so a bad request is answered at once),
then waits in a ``JobQueue``: one export per visitor, a bounded number in all ("busy, try again in
about N s" past that), run in arrival order on one worker thread at a lower CPU priority, cancelled
when its visitor leaves or stops waiting. An export holds at most ``MAX_EXPORT_CHARS`` characters
(~20 s on one CPU thread). Built fonts wait in a cache bounded in entries and bytes until the page
fetches them (a server function of the preview, so Gradio keeps no copy of the font per session).
"""

from __future__ import annotations

import base64
import re
import secrets
import tempfile
import time
from pathlib import Path

from ..engine.cache import BoundedCache
from ..engine.charsets import frequency_source, frequent_simplified, frequent_traditional
from ..engine.glyphs import group_skipped
from ..engine.stylizer import Stylizer
from ..errors import ExportError, shown
from ..fontexport import plan_export, write_font
from ..fontexport.export import ExportPlan
from ..settings import (
    EXPORTS_PENDING,
    FONT_CACHE_BYTES,
    FONT_CACHE_ENTRIES,
    MAX_EXPORT_CHARS,
    MAX_TEXT,
    Settings,
)
from .jobs import Job, JobCancelled, JobContext, JobQueue

# key -> (label, characters); keys travel (a page or client may hold an old one), labels are only
# shown. Each fits one export here (MAX_EXPORT_CHARS); the bigger sets (freq-sc-1000, freq-sc-3500,
# freq-tc-…, gb2312-1, big5-1, …: CHARSETS in engine/charsets.py) are for `python -m unet.font --charset`.
PRESETS = {
    "gb2312-500": (f"500 most common simplified, by frequency of use (source: {frequency_source()})",
                   lambda: "".join(frequent_simplified(500))),
    "big5-500": (f"500 most common traditional, by frequency of use (source: {frequency_source()}; "
                 "forms by OpenCC)", lambda: "".join(frequent_traditional(500))),
}


# The preview's running text: the characters of the font in the order typed, cut into clauses of
# these lengths and joined by this punctuation (every mark is in the text set of every export,
# ``unet.fontexport.text_glyphs``), then a line of digits and Latin.
SAMPLE_CLAUSES = (4, 6, 5, 7, 4, 6)
SAMPLE_MARKS = ("，", "、", "；", "：", "？", "！")
SAMPLE_QUOTES = (("「", "」"), ("“", "”"), ("《", "》"), ("（", "）"), ("『", "』"))
SAMPLE_MAX = 60  # characters of the font used in the sample
SAMPLE_LATIN = "0123456789 Glyph Attention — ABC abc."


def preview_text(chars: str) -> str:
    """A paragraph to set in a new font: its characters as clauses with Chinese punctuation and
    quotes (as running text uses them, so the reader sees how they sit in horizontal and vertical
    text), ended by 。 and followed by digits and Latin."""
    chars = [c for c in chars if not c.isspace()][:SAMPLE_MAX]
    clauses, i, k = [], 0, 0
    while i < len(chars):
        n = SAMPLE_CLAUSES[k % len(SAMPLE_CLAUSES)]
        clause = "".join(chars[i:i + n])
        if k % 2 == 1:
            left, right = SAMPLE_QUOTES[(k // 2) % len(SAMPLE_QUOTES)]
            clause = left + clause + right
        clauses.append(clause)
        i, k = i + n, k + 1
    text = "".join(c + SAMPLE_MARKS[j % len(SAMPLE_MARKS)] for j, c in enumerate(clauses[:-1]))
    text += (clauses[-1] + "。……" if clauses else "")
    return f"{text}\n{SAMPLE_LATIN}" if text else SAMPLE_LATIN


class FontExports:
    """Makes fonts for visitors and keeps each until its page has fetched it."""

    def __init__(self, stylizer: Stylizer, max_chars: int = MAX_EXPORT_CHARS,
                 niceness: int = Settings.export_niceness, max_pending: int = EXPORTS_PENDING):
        self.st = stylizer
        self.max_chars = max_chars
        self._fonts: BoundedCache[dict] = BoundedCache(FONT_CACHE_ENTRIES, FONT_CACHE_BYTES,
                                                       size_of=lambda f: len(f["data"]))
        # The worker's tracing helpers and potrace processes inherit its lower priority.
        self.jobs = JobQueue("font-export", max_pending=max_pending, niceness=niceness,
                             seconds_per_unit=0.06, what="font")  # ~30 s for 500 glyphs

    @staticmethod
    def preset_text(key) -> str:
        if not isinstance(key, str) or key not in PRESETS:
            raise ExportError(f"unknown preset {shown(key)}; presets: {', '.join(PRESETS)}")
        return PRESETS[key][1]()

    def plan(self, text, style, fmt, complete, stylizer: Stylizer | None = None) -> ExportPlan:
        """The export as asked for, checked once (``plan_export``): a bad request fails here, before
        it waits in line. Only what the app alone limits is checked first. ``stylizer``: the one
        with the visitor's own styles (``DemoService.stylizer_for``), else the base."""
        if not isinstance(text, str):
            raise ExportError("the characters must be text")
        if len(text) > MAX_TEXT:
            raise ExportError(f"that text is too long for one export here (at most {self.max_chars} characters)",
                              key="font.error.too_many", count=f"{len(text):,}", limit=self.max_chars)
        return plan_export(stylizer or self.st, text, style, fmt, complete, max_chars=self.max_chars)

    def submit(self, visitor: str, plan: ExportPlan, stylizer: Stylizer | None = None) -> Job:
        """Queue a checked export for ``visitor`` (``JobQueueFull`` when it must wait its turn)."""

        def work(ctx: JobContext) -> dict:
            ctx.check()
            with tempfile.TemporaryDirectory(prefix="glyph-font-") as tmp:
                out = Path(tmp) / f"font.{plan.fmt}"
                report = write_font(stylizer or self.st, plan, out, progress=ctx.report)
                return self._keep(plan, report, out.read_bytes())

        # a kept glyph (complete mode) is copied, not drawn and traced: ~a tenth of the work
        return self.jobs.submit(visitor, work, size=len(plan.chars) + 0.1 * len(plan.kept) + 1)

    def cancel_visitor(self, visitor: str) -> bool:
        return self.jobs.cancel_visitor(visitor)

    def status_view(self, job: Job) -> dict:
        """What the preview shows while an export waits or runs (no bytes)."""
        ahead = self.jobs.ahead_of(job)
        fraction, message = job.progress
        if ahead or job.started is None:
            return {"state": "waiting", "ahead": ahead, "eta_s": self.jobs.eta_s(job)}
        return {"state": "making", "fraction": round(fraction, 3), "message": message,
                "eta_s": self.jobs.eta_s(job)}

    def make(self, visitor: str, text, style, fmt, complete, progress=None, poll_s: float = 0.1,
             stylizer: Stylizer | None = None) -> dict:
        """Plan, queue and wait for an export in one call (the tests and scripts; the app waits
        asynchronously, ``app.make_font``). ``progress(fraction, message)`` as it goes."""
        job = self.submit(visitor, self.plan(text, style, fmt, complete, stylizer), stylizer)
        try:
            while not job.done():
                job.renew()
                if progress is not None:
                    progress(*job.progress)
                time.sleep(poll_s)
            return job.future.result()
        finally:
            if not job.done():
                job.cancel()

    def _keep(self, plan: ExportPlan, report, data: bytes) -> dict:
        """Keep a finished font until its page fetches it; what the preview shows (a token, no bytes)."""
        token = secrets.token_urlsafe(12)
        filename = re.sub(r"[^A-Za-z0-9]+", "", report.family) + f".{report.fmt}"
        self._fonts.put(token, {"data": data, "filename": filename})
        in_font = set(report.generated) | set(report.kept)
        chars = "".join(c for c in dict.fromkeys(plan.request.text) if c in in_font)  # in the order typed
        return {"state": "done", "token": token, "family": report.family, "family_zh": plan.names.family_zh,
                "css_family": f"ga-export-{token[:8]}", "chars": chars,
                "sample": preview_text(chars), "specimen": chars[:2], "filename": filename,
                "size": len(data), "summary": report.counts(),
                "counts": {"generated": len(report.generated), "kept": len(report.kept),
                           "skipped": len(report.skipped), "text": report.text, "vectorizer": report.vectorizer},
                "skipped_groups": group_skipped(report.skipped),
                "skipped": [str(s) for s in report.skipped[:10]], "skipped_count": len(report.skipped)}

    def font_data(self, token) -> dict:
        """The page's fetch of a font it was promised (base64), or an error it can show."""
        font = self._fonts.get(token) if isinstance(token, str) else None
        if font is None:
            return {"error": "this font is no longer kept on the server; please make it again", "gone": True}
        return {"font": base64.b64encode(font["data"]).decode("ascii"), "filename": font["filename"]}


__all__ = ["PRESETS", "FontExports", "JobCancelled"]
