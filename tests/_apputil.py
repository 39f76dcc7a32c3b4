"""Helpers for the end-to-end tests of the Gradio app (tests/test_app.py, tests/test_browser.py):
launch the real app in-process on a free local port, and small checks on what it returns."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the tests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # app.py and unet/ are used from the checkout
    sys.path.insert(0, str(REPO))

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STYLE = "LXGW WenKai"  # the shipped checkpoint's first style
LAYERS = ["32x32", "16x16"]  # its attention layers, outermost first


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app() -> Iterator[str]:
    """The real app (shipped checkpoint) served on 127.0.0.1:<free port>; yields its base URL."""
    from app import build_demo

    demo = build_demo()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def read_png(path_or_bytes) -> bytes:
    """The file's bytes, after checking they are a PNG."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    assert data[:8] == PNG_MAGIC, f"not a PNG: {data[:8]!r}"
    return data


def pixels(path_or_bytes):
    """A PNG as a numpy array (checks the magic bytes first)."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(read_png(path_or_bytes))))
