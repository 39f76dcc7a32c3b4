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
QUEUE_SIZE = 128  # events waiting in Gradio's queue
SESSION_TTL_S = 1800  # a browser session's state is dropped after this long unused

# --- font export ----------------------------------------------------------------------------------
MAX_EXPORT_CHARS = 500  # per export on a shared Space (the command line has no limit)
EXPORT_BATCH = 64  # glyphs drawn per step of an export while the previous step's are traced
FONT_CACHE_ENTRIES = 16  # fonts the app keeps until their page fetches them
FONT_CACHE_BYTES = 24 * MiB  # a 500-glyph TTF is ~0.6 MB
PROGRESS_EVERY_S = 0.25  # how often an export's progress reaches the page


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
    max_sessions: int = 100  # GLYPH_MAX_SESSIONS: sessions whose last outputs Gradio keeps
    server_name: str | None = None  # GRADIO_SERVER_NAME (None: app.py binds 127.0.0.1 only)
    server_port: int = 7860  # GRADIO_SERVER_PORT
    font_dirs: list[Path] = field(default_factory=font_dirs)  # GLYPH_FONT_DIRS + system folders

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(checkpoint=env.get("GLYPH_CHECKPOINT") or None,
                   precision=env.get("GLYPH_PRECISION", "auto"),
                   threads=max(1, int(env.get("GLYPH_THREADS", "1"))),
                   export_niceness=int(env.get("GLYPH_EXPORT_NICE", "10")),
                   max_sessions=int(env.get("GLYPH_MAX_SESSIONS", "100")),
                   server_name=env.get("GRADIO_SERVER_NAME") or None,
                   server_port=int(env.get("GRADIO_SERVER_PORT", "7860")),
                   font_dirs=font_dirs(env))
