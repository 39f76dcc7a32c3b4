"""Every limit and every environment variable of the package, in one place.

Limits are constants: what one request, one export or one server may use. Environment variables are
read by ``Settings.from_env()`` when a program starts (``app.py``, a command line, a benchmark),
never when a module is imported, so a test or a caller can build ``Settings`` itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 ** 2

# --- one generation (the engine) -----------------------------------------------------------------
MAX_CHARS = 64  # glyphs per request; more are reported as skipped
MAX_TEXT = 10_000  # code points scanned per request; the rest of a longer text is ignored
FORWARD_BATCH = 8  # glyphs per forward pass: a 24-glyph request held ~3x the memory of an 8-glyph one
GLYPH_CACHE_ENTRIES = 512  # rendered glyphs per font cache (uint8, 16 KiB each at 128 px)

# --- the demo server ------------------------------------------------------------------------------
GENERATIONS_AT_ONCE = 2  # generations running at once (app.py's limit, the service's worker threads)
CACHE_BYTES = 32 * MiB  # finished generations kept for every visitor (views get a quarter of it)
CACHE_ENTRIES = 256
TICKET_TEXT = 256  # longest text an attention ticket repeats as it is
QUEUE_SIZE = 128  # light events (generate, toggle, panel) waiting in Gradio's queue; heavy work waits elsewhere
SESSION_TTL_S = 1800  # a browser session's state is dropped after this long unused
MAX_SESSIONS = 1500  # sessions Gradio keeps (least recently used dropped first): <= ~360 KB each (README)
FETCHES_AT_ONCE = 2  # the page's fetches (server functions) doing work at once ...
FETCHES_WAITING = 8  # ... and waiting (10 s at most); past that a fetch is answered "busy" at once
FETCHES_PER_VISITOR = 2  # one page's fetches in flight at once
BODY_LIMIT = 64 * 1024  # bytes of any request body (10,000 CJK characters as JSON escapes: 60 KB)
UPLOAD_LIMIT = 32 * MiB  # bytes of one upload (a font, a ZIP of glyph images, a style file)
UPLOAD_BUDGET = 320 * MiB  # bytes all uploads together may bring in per UPLOAD_WINDOW_S (then 429):
UPLOAD_WINDOW_S = 600  # with Gradio's cache clean-up (files go after 30 min), ~1.3 GB of disk at most

# --- font export ----------------------------------------------------------------------------------
MAX_EXPORT_CHARS = 500  # per export on a shared Space (the command line has no limit)
EXPORT_BATCH = 16  # glyphs drawn per step of an export while the previous step's are traced (and
# how often it can stop: a cancelled export ends within one step)
EXPORTS_PENDING = 6  # exports running or waiting on the server (one per visitor); past that "busy"
FONT_CACHE_ENTRIES = 64  # fonts the app keeps until their page fetches them (64 exports: > 20 min)
FONT_CACHE_BYTES = 96 * MiB  # a 500-glyph TTF is ~0.6-1 MB
PROGRESS_EVERY_S = 1.0  # how often an export's progress reaches the page (and its lease is renewed)

# --- your own style: uploads and fine-tunes --------------------------------------------------------
MAX_UPLOAD_GLYPHS = 1200  # glyphs read from one upload (a fine-tune uses at most this many)
MAX_IMAGE_PIXELS = 4096 * 4096  # pixels of one image in a ZIP (decompression bombs stop here)
MAX_ZIP_ENTRIES = 4000  # members of a ZIP of glyph images
MAX_ZIP_EXPANDED = 256 * MiB  # bytes a ZIP's members expand to, all together
MAX_ZIP_MEMBER = 16 * MiB  # bytes one member expands to
MAX_FONT_FACES = 8  # faces of a collection (TTC) looked at for CJK glyphs; the rest are ignored
UPLOADS_HELD_BYTES = 64 * MiB  # uploaded glyphs kept until their visitor teaches a style (~16 MB each at most)
TUNE_MINUTES = (1, 30)  # the time a visitor may give a fine-tune, in minutes (the page offers 10)
TUNES_PENDING = 3  # fine-tunes running or waiting on the server (one per visitor, one running at a time)
OWN_STYLES = 8  # taught styles kept on the server (each holds a copy of the weights, ~55 MB)
OWN_STYLES_PER_VISITOR = 2
OWN_STYLE_TTL_S = 3600  # a taught style unused this long is dropped (its page may be long gone)


def font_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Folders searched for a font by file name: ``GLYPH_FONT_DIRS`` (``os.pathsep``-separated)
    first, then the system's font folders."""
    environ = os.environ if environ is None else environ
    extra = [Path(p) for p in environ.get("GLYPH_FONT_DIRS", "").split(os.pathsep) if p]
    return extra + [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]


@dataclass(frozen=True)
class Settings:
    """What the environment says, read once when a program starts."""

    checkpoint: str | None = None  # GLYPH_CHECKPOINT: a directory or a Hub model id (None: shipped)
    precision: str = "auto"  # GLYPH_PRECISION: float32, bfloat16 or auto (bf16 where it pays)
    threads: int = 1  # GLYPH_THREADS: torch intra-op threads of the app
    export_niceness: int = 10  # GLYPH_EXPORT_NICE: the export worker's nice value (0 = as the demo)
    max_sessions: int = MAX_SESSIONS  # GLYPH_MAX_SESSIONS: sessions Gradio keeps (their last inputs and outputs)
    server_name: str | None = None  # GRADIO_SERVER_NAME (None: app.py binds 127.0.0.1 only)
    server_port: int = 7860  # GRADIO_SERVER_PORT
    font_dirs: list[Path] = field(default_factory=font_dirs)  # GLYPH_FONT_DIRS + system folders

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Raises ``UserError`` naming the variable ("GLYPH_THREADS='abc': not an integer") for a
        bad value, so a program stops with one line instead of a ValueError traceback; an unset or
        empty variable means the default."""
        from .errors import UserError, shown  # here: this module's top holds constants only

        env = os.environ if environ is None else environ

        def integer(name: str, default: int, low: int, high: int) -> int:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                value = int(text)
            except ValueError:
                raise UserError(f"{name}={shown(text)}: not an integer") from None
            if not low <= value <= high:
                raise UserError(f"{name}={value}: must be from {low} to {high}")
            return value

        precision = env.get("GLYPH_PRECISION", "").strip() or cls.precision
        if precision not in ("float32", "bfloat16", "auto"):
            raise UserError(f"GLYPH_PRECISION={shown(precision)}: must be float32, bfloat16 or auto")
        return cls(checkpoint=env.get("GLYPH_CHECKPOINT") or None,
                   precision=precision,
                   threads=integer("GLYPH_THREADS", cls.threads, 1, 1024),
                   export_niceness=integer("GLYPH_EXPORT_NICE", cls.export_niceness, 0, 19),
                   max_sessions=integer("GLYPH_MAX_SESSIONS", cls.max_sessions, 1, 10_000_000),
                   server_name=env.get("GRADIO_SERVER_NAME") or None,
                   server_port=integer("GRADIO_SERVER_PORT", cls.server_port, 1, 65535),
                   font_dirs=font_dirs(env))
