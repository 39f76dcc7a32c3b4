"""Talking to the running app over its public API (``gradio_client`` and raw HTTP), for
``python -m tools.stress``: calls that never raise (an ``Outcome`` instead), the app's style and layer
choices, and the glyph images of a response.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # the checkout: app.py and checkpoints/
STYLES = ["LXGW WenKai", "AR PL UKai", "Smiley Sans"]  # the shipped checkpoint's, used if /config fails
LAYERS = ["32x32", "16x16"]
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"\n]*", line \d+|^\s*File "'
                       r'|\bsite-packages/|\w{1,64}Error: .*\n\s+at ', re.M)  # bounded: no backtracking on 1 MB
# Messages that are not tracebacks but do not say what was wrong with the request either.
GENERIC = ("Something went wrong", "has raised an exception but has not enabled verbose error reporting")


def looks_like_traceback(text: str) -> bool:
    return bool(TRACEBACK.search(text or ""))


def strings(obj) -> Iterable[str]:
    """Every string in a (nested) response."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from strings(v)


@dataclass
class Outcome:
    """One API call: a result (``data``) or an error (``message``)."""

    ok: bool
    data: object = None
    message: str = ""
    kind: str = "result"  # result | app-error | client-error | http-error
    seconds: float = 0.0

    @property
    def traceback(self) -> bool:
        return looks_like_traceback(self.message) or any(looks_like_traceback(s) for s in strings(self.data))

    @property
    def clear(self) -> bool:
        """An error that says something specific (not empty, not generic, not a traceback)."""
        m = self.message.strip()
        return bool(m) and not self.traceback and not any(g in m for g in GENERIC)


def call(client, api: str, args: tuple) -> Outcome:
    from gradio_client.exceptions import AppError

    t = time.perf_counter()
    try:
        data = client.predict(*args, api_name=api)
        return Outcome(True, data, seconds=time.perf_counter() - t)
    except AppError as e:
        return Outcome(False, message=str(e), kind="app-error", seconds=time.perf_counter() - t)
    except Exception as e:  # the client refused to send it, or the connection failed
        return Outcome(False, message=f"{type(e).__name__}: {e}", kind="client-error",
                       seconds=time.perf_counter() - t)


def raw_call(base_url: str, api: str, body: str, timeout: float = 300) -> Outcome:
    """POST a JSON body as written (e.g. with a NaN literal) to /gradio_api/call<api>, read the SSE."""
    import httpx

    t = time.perf_counter()
    try:
        r = httpx.post(f"{base_url}gradio_api/call{api}", content=body.encode("utf-8"),
                       headers={"content-type": "application/json"}, timeout=timeout)
        if r.status_code != 200:
            return Outcome(False, message=f"HTTP {r.status_code}: {r.text[:500]}", kind="http-error",
                           seconds=time.perf_counter() - t)
        event_id = r.json()["event_id"]
        text = httpx.get(f"{base_url}gradio_api/call{api}/{event_id}", timeout=timeout).text
    except Exception as e:
        return Outcome(False, message=f"{type(e).__name__}: {e}", kind="client-error",
                       seconds=time.perf_counter() - t)
    dt = time.perf_counter() - t
    event = None
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            payload = line.split(":", 1)[1].strip()
            try:
                data = json.loads(payload)
            except json.JSONDecodeError:
                data = payload
            if event == "complete":
                return Outcome(True, data, seconds=dt)
            msg = data.get("error") if isinstance(data, dict) else data
            return Outcome(False, message=str(msg or ""), kind="app-error", seconds=dt)
    return Outcome(False, message=f"no complete/error event in: {text[:500]}", kind="http-error", seconds=dt)


def make_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def app_choices(url: str) -> tuple[list[str], list[str]]:
    """(styles, layer names) from the app's /config, or the shipped checkpoint's."""
    import httpx

    styles, layers = list(STYLES), list(LAYERS)
    try:
        cfg = httpx.get(f"{url}config", timeout=30).json()
        for comp in cfg.get("components", []):
            props = comp.get("props", {})
            choices = [c[1] if isinstance(c, (list, tuple)) else c for c in props.get("choices") or []]
            if props.get("elem_id") == "style" and choices:
                styles = choices
            elif props.get("elem_id") == "layers" and choices:
                layers = choices
    except Exception:
        pass
    return styles, layers


SHEET, STATUS = 0, 1  # outputs of /generate and /toggle: the sheet view, the status markdown, ...


def sheet_view(outcome: Outcome) -> dict:
    """The sheet of a /generate or /toggle result: ``{"src": PNG data URI, "chars": [...], ...}``."""
    if not outcome.ok or not isinstance(outcome.data, (list, tuple)) or len(outcome.data) <= STATUS:
        return {}
    view = outcome.data[SHEET]
    return view if isinstance(view, dict) else {}


def sheet_chars(outcome: Outcome) -> list[str]:
    """The characters a /generate or /toggle result drew, in order."""
    return list(sheet_view(outcome).get("chars") or [])


def status_text(outcome: Outcome) -> str:
    """The status line of a /generate or /toggle result (what was drawn, skipped and why)."""
    if not outcome.ok or not isinstance(outcome.data, (list, tuple)) or len(outcome.data) <= STATUS:
        return ""
    return str(outcome.data[STATUS] or "")


def glyph_count(outcome: Outcome) -> int:
    if not outcome.ok:
        return 0
    if isinstance(outcome.data, dict):  # /query_point: one character
        return 1 if outcome.data.get("char") else 0
    return len(sheet_chars(outcome))


def fetch_png(http, image) -> np.ndarray:  # noqa: F821
    """A PNG from a data URI, a served file ({"url": ...}) or a local path, as a numpy array."""
    import base64

    import numpy as np
    from PIL import Image

    url = image.get("url") if isinstance(image, dict) else None
    if isinstance(image, str) and image.startswith("data:"):
        data = base64.b64decode(image.split(",", 1)[1])
    elif url:
        r = http.get(url, timeout=60)
        r.raise_for_status()
        data = r.content
    else:  # a local path (a client that downloads files, or an in-process check)
        data = Path(image["path"] if isinstance(image, dict) else image).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"not a PNG: {data[:16]!r}")
    return np.asarray(Image.open(io.BytesIO(data)))


@dataclass
class Signature:
    """What must be identical between a request run alone and the same request under load."""

    sheet: object  # numpy array: the sheet with every glyph (source, generated, real, differences)
    chars: list[str]
    status: str

    def diff(self, other: Signature) -> str | None:
        import numpy as np

        if self.chars != other.chars:
            return f"characters differ: {self.chars} != {other.chars}"
        if self.status != other.status:
            return f"status differs: {self.status!r} != {other.status!r}"
        a, b = self.sheet, other.sheet
        if a.shape != b.shape or not np.array_equal(a, b):
            n = int((a != b).sum()) if a.shape == b.shape else -1
            return f"the sheet differs in {n} pixel values"
        return None


def signature(http, outcome: Outcome) -> Signature:
    return Signature(fetch_png(http, sheet_view(outcome).get("src")), sheet_chars(outcome),
                     status_text(outcome))
