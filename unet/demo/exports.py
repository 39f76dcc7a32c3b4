"""Font export in the demo: bounded, one export at a time per visitor, fonts handed to the page.

A shared Space must not let one visitor's export starve the others: an export holds at most
``MAX_EXPORT_CHARS`` characters (~20 s on one CPU thread), a visitor runs one at a time, exports run
on one worker thread at a lower CPU priority, and the built fonts wait in a cache bounded in entries
and bytes until the page fetches them (a server function of the preview, so Gradio keeps no copy
of the font per session).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from ..engine.cache import BoundedCache
from ..engine.charsets import big5_common, gb2312_level1
from ..engine.stylizer import Stylizer
from ..errors import ExportError
from ..fontexport import plan_export, write_font
from ..settings import FONT_CACHE_BYTES, FONT_CACHE_ENTRIES, MAX_EXPORT_CHARS, PROGRESS_EVERY_S, Settings

PRESETS = {  # key -> (label, characters); keys travel, labels are only shown
    "gb2312-500": ("500 most common simplified (GB2312 level 1)", lambda: "".join(gb2312_level1()[:500])),
    "big5-500": ("500 most common traditional (Big5 level 1)", lambda: "".join(big5_common()[:500])),
}


def lower_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads by their own nice value;
    threads and processes it starts inherit it). Where that is not possible exports simply run at
    normal priority."""
    if niceness <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):
        pass


class FontExports:
    """Makes fonts for visitors and keeps each until its page has fetched it."""

    def __init__(self, stylizer: Stylizer, max_chars: int = MAX_EXPORT_CHARS,
                 niceness: int = Settings.export_niceness):
        self.st = stylizer
        self.max_chars = max_chars
        self._fonts: BoundedCache[dict] = BoundedCache(FONT_CACHE_ENTRIES, FONT_CACHE_BYTES,
                                                       size_of=lambda f: len(f["data"]))
        self._running: set[str] = set()  # visitors with an export in progress
        self._lock = threading.Lock()
        # Exports run on one worker thread at a lower CPU priority: on 2 shared cores a visitor's
        # export then takes what the live demo leaves. The thread's tracing helpers and potrace
        # processes inherit its priority.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="font-export",
                                          initializer=lower_priority, initargs=(niceness,))

    @staticmethod
    def preset_text(key: str) -> str:
        if key not in PRESETS:
            raise ExportError(f"unknown preset {key!r}")
        return PRESETS[key][1]()

    def make(self, visitor: str, text, style, fmt, complete,
             progress: Callable[[float, str], None] | None = None) -> dict:
        """Build a font of ``text``'s characters; returns what the preview shows (a ticket, no bytes).

        The export is checked once, by ``plan_export`` on the worker (format, style, characters,
        limits); only what the app alone limits is checked before it is queued."""
        if not isinstance(text, str):
            raise ExportError("the characters must be text")
        if len(text) > 20 * self.max_chars:
            raise ExportError(f"that text is too long for one export here (at most {self.max_chars} characters)")
        with self._lock:
            if visitor in self._running:
                raise ExportError("your previous font is still being made; one export at a time")
            self._running.add(visitor)
        latest: list[tuple[float, str]] = []  # progress handed from the worker to this thread

        def work():
            plan = plan_export(self.st, text, style, fmt, bool(complete), max_chars=self.max_chars)
            with tempfile.TemporaryDirectory(prefix="glyph-font-") as tmp:
                out = Path(tmp) / f"font.{plan.fmt}"
                report = write_font(self.st, plan, out, progress=lambda *p: latest.append(p))
                return report, out.read_bytes()

        def relay():  # the caller's progress is called from the caller's thread (Gradio's must be)
            if progress is not None and latest:
                progress(*latest[-1])

        try:
            future = self._worker.submit(work)
            while not future.done():
                wait([future], timeout=PROGRESS_EVERY_S)
                relay()
            report, data = future.result()
        finally:
            with self._lock:
                self._running.discard(visitor)
        token = secrets.token_urlsafe(12)
        filename = re.sub(r"[^A-Za-z0-9]+", "", report.family) + f".{report.fmt}"
        self._fonts.put(token, {"data": data, "filename": filename})
        in_font = set(report.generated) | set(report.kept)
        chars = "".join(c for c in dict.fromkeys(text) if c in in_font)  # in the order typed
        return {"token": token, "family": report.family, "css_family": f"ga-export-{token[:8]}",
                "chars": chars, "filename": filename, "size": len(data),
                "summary": report.counts(),
                "skipped": [str(s) for s in report.skipped[:10]], "skipped_count": len(report.skipped)}

    def font_data(self, token) -> dict:
        """The page's fetch of a font it was promised (base64), or an error it can show."""
        font = self._fonts.get(token) if isinstance(token, str) else None
        if font is None:
            return {"error": "this font is no longer kept on the server; please make it again"}
        return {"font": base64.b64encode(font["data"]).decode("ascii"), "filename": font["filename"]}
