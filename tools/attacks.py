"""What a hostile script can do to the running app, over raw HTTP: each attack with its numbers.

    python -m tools.stress --attacks [NAME ...] [--quick] [--url URL]

``gradio_client`` is too polite for this (one session, waits its turn, never sends a body it cannot
encode), so the attacks speak HTTP themselves (``httpx``; a raw socket for bodies the server must
refuse before reading them). Each attack is one function taking a ``Target`` (the app's URL, and
where known its pid, its GRADIO_TEMP_DIR and its log) and returning an ``AttackResult``: its
figures, the target it had to meet and whether it did.

 1. queue-fill      N anonymous 500-character ``/make_font`` calls at once, each its own session:
                    how many are accepted, refused "busy" or refused by Gradio's queue (HTTP 503);
                    meanwhile a new visitor's 8-character ``/generate`` (<= 3x its time alone).
 2. fetch-flood     the page's server functions (``glyph_zip`` of 64 new characters and
                    ``attention_data``), each from a fresh session: how many got data or "busy";
                    meanwhile a new visitor's ``/generate`` (<= 3x) and ``queue/status`` (< 1 s).
 3. combined        1 and 2 at once, then a new visitor's ``/generate`` (<= 3x).
 4. big-bodies      a 210 MB body (streamed, with and without Content-Length) to
                    ``/gradio_api/call/generate`` and ``/gradio_api/queue/join``, then 43 of 51 MB:
                    413 each; server RSS <= 1.5 GB and grows by little.
 5. uploads         N POSTs of 1 MB to ``/gradio_api/upload``: accepted until the upload budget,
                    then 429; at most the budget written under the server's GRADIO_TEMP_DIR (or
                    TMPDIR).
 6. session-churn   one visitor generates and opens a glyph in the attention panel, 1,000 other
                    sessions each generate once, then the first visitor's session still works.
 7. disconnect      an export whose page goes away after its first update stops: a second
                    visitor's export starts within ~25 s.
 8. exporters       several visitors export at once: all finish, in arrival order, none errors,
                    and each one's second export at the same time is refused "one at a time".
 9. log-flood       60 KB invalid values: each refused with a short message, the server log grows
                    < 1 KB a request and holds no traceback (only for a server started here).
10. strict-values   ``complete: "false"`` and other wrong types are refused with a message;
                    missing arguments get an error that says something.

``--quick`` scales the counts down (``QUICK``) so the whole set runs in a few minutes.
"""

from __future__ import annotations

import asyncio
import json
import random
import select
import socket
import statistics
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from unet.settings import (
    EXPORTS_PENDING,  # exports running or waiting on the server (this checkout's)
    UPLOAD_BUDGET,
)

from .appclient import GENERIC, looks_like_traceback
from .stress_load import dir_usage, rss_bytes

MB = 1024 * 1024
RSS_LIMIT_MB = 1536  # the server's memory after the body attacks (a 2 GB Space, with headroom)


# --- how hard ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    """How many of each: the full attack, or ``QUICK`` for CI."""

    exports: int = 130  # queue-fill and combined: concurrent /make_font calls
    export_chars: int = 500  # characters per export (queue-fill, combined, disconnect)
    zips: int = 48  # fetch-flood and combined: glyph_zip calls ...
    zip_chars: int = 64  # ... of this many new characters each
    attention: int = 16  # ... and attention_data calls
    probes: int = 3  # a new visitor's /generate: tries alone and under load
    big_mb: int = 210  # one body, 4 times (2 routes x with/without Content-Length)
    bodies: int = 43  # then this many ...
    body_mb: int = 51  # ... of this size
    uploads: int = 100  # 1 MB each
    sessions: int = 1000  # session-churn: other sessions
    exporters: int = 4  # exporters: visitors exporting at once ...
    exporter_chars: int = 500  # ... this many characters each
    log_requests: int = 27  # log-flood: 60 KB invalid values
    idle_timeout_s: float = 240  # waiting for the export queue to be empty between attacks
    max_ratio: float = 3.0  # a new visitor's /generate under load, over its time alone
    # disconnect: seconds until an abandoned export's slot is free. The export stops at its next
    # progress report, after the 64-glyph step it is in (~10 s on 2 quiet cores at nice 10, 25-31 s
    # measured while other work loaded them): QUICK, run in CI on busy hosts, allows for that.
    free_within_s: float = 25.0


FULL = Scale()
QUICK = Scale(exports=20, zips=4, attention=8, probes=2, big_mb=5, bodies=5, body_mb=5, uploads=10,
              sessions=100, exporters=2, exporter_chars=64, log_requests=9, idle_timeout_s=180,
              free_within_s=45.0)


@dataclass
class Target:
    """The app under attack. ``server``: a ``tools.stress.Server`` started here (its log), or None."""

    url: str
    pid: int | None = None
    cache_dir: Path | None = None
    tmp_dir: Path | None = None
    server: object | None = None
    scale: Scale = FULL
    log: Callable[[str], None] = print
    styles: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    components: dict[str, int] = field(default_factory=dict)  # elem_id -> component id
    fns: dict[str, int] = field(default_factory=dict)  # "generate", "pick_char" -> fn_index
    rng: random.Random = field(default_factory=random.Random)  # new texts on every run
    _used: set[str] = field(default_factory=set)

    def __post_init__(self):
        import httpx

        from .appclient import app_choices

        self.url = self.url.rstrip("/") + "/"
        self.styles, self.layers = app_choices(self.url)
        cfg = httpx.get(f"{self.url}config", timeout=30).json()
        self.components = {c["props"]["elem_id"]: c["id"] for c in cfg["components"]
                           if (c.get("props") or {}).get("elem_id")}
        for dep in cfg["dependencies"]:
            if dep.get("api_name") == "generate":
                self.fns["generate"] = dep["id"]
            if [self.components.get("char"), "input"] in dep["targets"]:
                self.fns["pick_char"] = dep["id"]

    @property
    def style(self) -> str:
        return self.styles[0]

    def rss_mb(self) -> float | None:
        rss = rss_bytes(self.pid)
        return rss / MB if rss else None

    def new_text(self, n: int) -> str:
        """n distinct common characters in a random combination, never the same twice (so its
        generation is not cached, even on a server that has seen earlier runs)."""
        from unet.engine.charsets import gb2312_level1

        pool = gb2312_level1()[500:]  # the exports use the first 500
        while True:
            text = "".join(self.rng.sample(pool, n))
            if text not in self._used:
                self._used.add(text)
                return text

    def export_text(self, n: int) -> str:
        from unet.engine.charsets import gb2312_level1

        return "".join(gb2312_level1()[:n])


@dataclass
class AttackResult:
    name: str
    summary: str  # the key figures, one line
    target: str
    met: bool | None  # None: not run here (e.g. needs the server's log)
    figures: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- talking to the app ---------------------------------------------------------------------------

@dataclass
class Reply:
    """One event or fetch as the script saw it; filled in as it goes (a cancelled call keeps what
    it had seen)."""

    kind: str = "pending"  # result | error (the app's message) | http (refused by status) | closed | client-error
    status: int = 200
    data: object = None
    message: str = ""
    updates: list = field(default_factory=list)  # streamed updates (an export's status), in order
    update_s: list[float] = field(default_factory=list)  # seconds from the call to each update
    t0: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind == "result"

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def http_client(connections: int = 600):
    import httpx

    return httpx.AsyncClient(limits=httpx.Limits(max_connections=connections, max_keepalive_connections=32),
                             timeout=httpx.Timeout(900, connect=60))  # an admitted fetch may wait minutes


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("error") or body)[:300]
    return str(body)[:300]


def _message(payload) -> str:
    """The text of an error event's payload (a dict with "error", a string, or null)."""
    if isinstance(payload, dict):
        payload = payload.get("error")
    return "" if payload is None else str(payload)


async def sse(response) -> AsyncIterator[tuple[str | None, object]]:
    """(event, data) of a server-sent event stream; ``data`` parsed as JSON where it is."""
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            text = line[5:].strip()
            try:
                data = json.loads(text)
            except ValueError:
                data = text
            yield event, data
            event = None


async def call(http, url: str, api: str, data: list, *, session: str | None = None,
               reply: Reply | None = None, until: Callable[[Reply], bool] | None = None) -> Reply:
    """``POST /gradio_api/call/<api>`` then its SSE stream, as any script can. ``until(reply)`` is
    asked after each streamed update: True closes the connection (``kind`` "closed")."""
    import httpx

    reply = reply or Reply()
    body = {"data": data} | ({"session_hash": session} if session else {})
    try:
        r = await http.post(f"{url}gradio_api/call/{api}", json=body)
        if r.status_code != 200:
            reply.kind, reply.status, reply.message = "http", r.status_code, _detail(r)
            return reply
        event_id = r.json()["event_id"]
        async with http.stream("GET", f"{url}gradio_api/call/{api}/{event_id}") as stream:
            async for event, payload in sse(stream):
                if event == "generating":
                    reply.updates.append(payload[0] if isinstance(payload, list) and payload else payload)
                    reply.update_s.append(reply.elapsed())
                    if until is not None and until(reply):
                        reply.kind = "closed"
                        return reply
                elif event == "complete":
                    reply.kind, reply.data = "result", payload
                    return reply
                elif event == "error":
                    reply.kind, reply.message = "error", _message(payload)
                    return reply
        if reply.kind == "pending":
            reply.kind, reply.message = "client-error", "the stream ended without a result"
    except httpx.HTTPError as e:
        reply.kind, reply.message = "client-error", f"{type(e).__name__}: {e}"
    finally:
        reply.seconds = reply.elapsed()
    return reply


async def join(http, url: str, fn_index: int, data: list, session: str) -> Reply:
    """An event as the page sends it (``queue/join`` + ``queue/data``): the session's State is kept
    between events, as in a browser."""
    import httpx

    reply = Reply()
    try:
        r = await http.post(f"{url}gradio_api/queue/join", json={
            "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
            "trigger_id": None})
        if r.status_code != 200:
            reply.kind, reply.status, reply.message = "http", r.status_code, _detail(r)
            return reply
        event_id = r.json()["event_id"]
        async with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as s:
            async for _, msg in sse(s):
                if not isinstance(msg, dict) or msg.get("event_id") not in (event_id, None):
                    continue
                if msg.get("msg") == "process_completed":
                    out = msg.get("output") or {}
                    if msg.get("success"):
                        reply.kind, reply.data = "result", out.get("data")
                    else:
                        reply.kind, reply.message = "error", _message(out)
                    return reply
                if msg.get("msg") in ("unexpected_error", "close_stream"):
                    reply.kind, reply.message = "error", str(msg.get("message") or msg.get("msg"))
                    return reply
    except httpx.HTTPError as e:
        reply.kind, reply.message = "client-error", f"{type(e).__name__}: {e}"
    finally:
        reply.seconds = reply.elapsed()
    return reply


class Visitor:
    """One session sending several events, as a page does: every event's messages come on one
    stream (``queue/data``), handed to each event's ``Reply`` by event id. (Two ``call``s with the
    same session would each read the other's messages.)"""

    def __init__(self, http, url: str, session_hash: str | None = None):
        self.http, self.url, self.session = http, url, session_hash or session()
        self.replies: dict[str, Reply] = {}
        self._listener: asyncio.Task | None = None

    async def send(self, api: str, data: list) -> Reply:
        """Start an event; its ``Reply`` fills in as its messages arrive (``wait`` for them all)."""
        reply = Reply()
        r = await self.http.post(f"{self.url}gradio_api/call/{api}", json={"data": data, "session_hash": self.session})
        if r.status_code != 200:
            reply.kind, reply.status, reply.message, reply.seconds = "http", r.status_code, _detail(r), reply.elapsed()
            return reply
        self.replies[r.json()["event_id"]] = reply
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())
        return reply

    async def _listen(self) -> None:
        async with self.http.stream("GET", f"{self.url}gradio_api/queue/data",
                                    params={"session_hash": self.session}) as stream:
            async for _, msg in sse(stream):
                reply = self.replies.get(msg.get("event_id")) if isinstance(msg, dict) else None
                if reply is None:
                    continue
                out = msg.get("output") or {}
                if msg.get("msg") == "process_generating":
                    data = out.get("data")
                    reply.updates.append(data[0] if isinstance(data, list) and data else data)
                    reply.update_s.append(reply.elapsed())
                elif msg.get("msg") == "process_completed":
                    if msg.get("success"):
                        reply.kind, reply.data = "result", out.get("data")
                    else:
                        reply.kind, reply.message = "error", _message(out)
                    reply.seconds = reply.elapsed()
                if all(r.kind != "pending" for r in self.replies.values()):
                    return

    async def wait(self, timeout: float = 1800) -> None:
        """Until every event sent so far has its result or error (or the stream ended)."""
        deadline = time.perf_counter() + timeout
        while any(r.kind == "pending" for r in self.replies.values()) and time.perf_counter() < deadline:
            if self._listener is not None and self._listener.done():
                if self._listener.exception() is not None:
                    break
                self._listener = asyncio.create_task(self._listen())
            await asyncio.sleep(0.2)
        for r in self.replies.values():
            if r.kind == "pending":
                r.kind, r.message, r.seconds = "client-error", "no result on the session's stream", r.elapsed()


async def server_fn(http, t: Target, elem_id: str, name: str, data, session: str) -> Reply:
    """A component's server function, as its page calls it: data, or the app's ``{"error": ...}``."""
    import httpx

    reply = Reply()
    try:
        r = await http.post(f"{t.url}gradio_api/component_server", json={
            "data": data, "component_id": t.components[elem_id], "fn_name": name, "session_hash": session})
        if r.status_code != 200:
            reply.kind, reply.status, reply.message = "http", r.status_code, _detail(r)
        else:
            body = r.json()
            if isinstance(body, dict) and "error" in body:
                reply.kind, reply.message = "error", str(body["error"])
            else:
                reply.kind, reply.data = "result", body
    except httpx.HTTPError as e:
        reply.kind, reply.message = "client-error", f"{type(e).__name__}: {e}"
    finally:
        reply.seconds = reply.elapsed()
    return reply


def session() -> str:
    return uuid.uuid4().hex[:11]


def is_busy(reply: Reply) -> bool:
    """Refused for now with the app's message: busy in all, or this visitor's one at a time."""
    return reply.kind == "error" and any(w in reply.message for w in (
        "busy", "one at a time", "still being made", "still fetching"))


def queue_full(reply: Reply) -> bool:
    return reply.status == 503 or "Queue is full" in reply.message


def clear(message: str) -> bool:
    """A message that says something specific: not empty, not generic, no traceback."""
    m = (message or "").strip()
    return bool(m) and m != "null" and not looks_like_traceback(m) and not any(g in m for g in GENERIC)


# --- timing ---------------------------------------------------------------------------------------

def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


async def visitor_generate(http, t: Target) -> Reply:
    """A new visitor (its own session) asks for 8 characters nobody asked for before."""
    return await call(http, t.url, "generate", [t.new_text(8), t.style, "(none)", 0.5, list(t.layers)])


async def visitor_times(http, t: Target, n: int) -> tuple[list[float], list[str]]:
    """n new visitors' /generate one after another: (seconds of each, problems). After each, a
    pause while the app computes that text's layer toggles ahead of time (its speculator), so one
    probe does not slow down the next: the same pause alone and under load."""
    times, problems = [], []
    for _ in range(n):
        r = await visitor_generate(http, t)
        times.append(r.seconds)
        if not r.ok:
            problems.append(f"visitor's /generate: {r.kind} {r.status} {r.message[:200]}")
        await asyncio.sleep(min(10.0, 3 * r.seconds))
    return times, problems


async def alone(http, t: Target) -> float:
    """A new visitor's /generate with nothing else going on (median of a few)."""
    times, problems = await visitor_times(http, t, t.scale.probes)
    if problems:
        raise RuntimeError(f"the app fails a plain /generate: {problems[0]}")
    return statistics.median(times)


async def wait_exports_idle(http, t: Target, timeout: float | None = None) -> float | None:
    """Seconds until the export queue is empty, seen from outside: a one-character export has no
    other ahead of it, and completes (it is closed, and tried again, while others are ahead).
    None if that never happened. (These exports count in the app's recent export times, which
    its "try again in about N s" is estimated from.)"""
    t0 = time.perf_counter()
    deadline = t0 + (timeout or t.scale.idle_timeout_s)
    while time.perf_counter() < deadline:
        r = await call(http, t.url, "make_font", ["永", t.style, "ttf", False], until=_behind_others)
        if r.ok:
            return time.perf_counter() - t0
        await asyncio.sleep(2)
    return None


def _behind_others(r: Reply) -> bool:
    """An export's update says others are ahead of it (its first update says "waiting", ahead 0,
    until the worker takes it)."""
    u = r.updates[-1]
    return isinstance(u, dict) and u.get("state") == "waiting" and bool(u.get("ahead"))


def ratio_text(under: list[float], base: float) -> str:
    worst = max(under) if under else float("nan")
    return f"{worst:.1f}s vs {base:.1f}s alone ({worst / base:.1f}x)"


# --- 1. queue fill --------------------------------------------------------------------------------

@dataclass
class ExportFlood:
    """N concurrent exports from fresh sessions, held open until ``close``."""

    replies: list[Reply]
    tasks: list[asyncio.Task]

    @classmethod
    def start(cls, http, t: Target, n: int) -> ExportFlood:
        text = t.export_text(t.scale.export_chars)
        replies = [Reply() for _ in range(n)]
        tasks = [asyncio.create_task(call(http, t.url, "make_font", [text, t.style, "ttf", False], reply=r))
                 for r in replies]
        return cls(replies, tasks)

    def sorted_out(self) -> bool:
        return all(r.updates or r.kind != "pending" for r in self.replies)

    async def wait_sorted(self, timeout: float = 120) -> None:
        deadline = time.perf_counter() + timeout
        while not self.sorted_out() and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)

    def counts(self) -> dict:
        accepted = sum(bool(r.updates) or r.ok for r in self.replies)
        busy = sum(is_busy(r) for r in self.replies)
        full = sum(queue_full(r) for r in self.replies)
        other = [r for r in self.replies if not (r.updates or r.ok or is_busy(r) or queue_full(r))]
        return {"sent": len(self.replies), "accepted": accepted, "busy": busy, "queue_full": full,
                "other": len(other), "other_example": (f"{other[0].kind} {other[0].status} {other[0].message}"[:200]
                                                       if other else ""),
                "busy_example": next((r.message for r in self.replies if is_busy(r)), "")[:200],
                "refused_in_s": round(max((r.seconds for r in self.replies if not r.updates), default=0), 2)}

    async def close(self) -> None:
        """Every page goes away: the accepted exports are abandoned mid-way."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _export_summary(c: dict) -> str:
    return f"{c['sent']} exports: {c['accepted']} accepted, {c['busy']} busy, {c['queue_full']} queue-full, {c['other']} other"


async def _queue_fill(t: Target) -> AttackResult:
    async with http_client() as http:
        await wait_exports_idle(http, t)
        base = await alone(http, t)
        flood = ExportFlood.start(http, t, t.scale.exports)
        await flood.wait_sorted()
        under, problems = await visitor_times(http, t, t.scale.probes)
        counts = flood.counts()
        await flood.close()
        freed = await wait_exports_idle(http, t)
    worst = max(under)
    figures = {**counts, "alone_s": base, "under_load_s": under, "ratio": worst / base,
               "queue_free_after_close_s": freed}
    if counts["other"]:
        problems.append(f"{counts['other']} exports neither accepted nor refused clearly: {counts['other_example']}")
    met = (not problems and worst <= t.scale.max_ratio * base and counts["accepted"] <= EXPORTS_PENDING
           and counts["busy"] + counts["queue_full"] + counts["accepted"] == counts["sent"])
    return AttackResult("queue-fill", f"{_export_summary(counts)}; new visitor {ratio_text(under, base)}",
                        f"<= {EXPORTS_PENDING} accepted, the rest refused at once; visitor <= {t.scale.max_ratio:g}x alone, 0 errors",
                        met, figures, problems)


# --- 2. server-function flood ---------------------------------------------------------------------

def fetch_calls(http, t: Target) -> list[Awaitable[Reply]]:
    """glyph_zip of new texts and attention_data of new requests, each from a fresh session."""
    s = t.scale
    zips = [server_fn(http, t, "sheet", "glyph_zip", [t.new_text(s.zip_chars), t.style, None, 0.5, []], session())
            for _ in range(s.zips)]
    tickets = [server_fn(http, t, "attention", "attention_data",
                         {"request": [t.new_text(8), t.style, None, 0.5, []], "index": 0}, session())
               for _ in range(s.attention)]
    return zips + tickets


def fetch_counts(replies: list[Reply]) -> dict:
    data = sum(r.ok for r in replies)
    busy = sum(is_busy(r) for r in replies)
    other = [r for r in replies if not r.ok and not is_busy(r)]
    return {"calls": len(replies), "data": data, "busy": busy, "other": len(other),
            "other_example": f"{other[0].kind} {other[0].status} {other[0].message}"[:200] if other else "",
            "busy_example": next((r.message for r in replies if is_busy(r)), "")[:200],
            "slowest_s": round(max((r.seconds for r in replies), default=0), 1)}


async def poll_status(http, t: Target, stop: asyncio.Event) -> list[float]:
    """Latency of ``GET /gradio_api/queue/status`` every 0.2 s until ``stop``."""
    times = []
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            await http.get(f"{t.url}gradio_api/queue/status", timeout=30)
            times.append(time.perf_counter() - t0)
        except Exception:
            times.append(float("inf"))
        await asyncio.sleep(0.2)
    return times


async def _fetch_flood(t: Target) -> AttackResult:
    async with http_client() as http:
        base = await alone(http, t)
        stop = asyncio.Event()
        status = asyncio.create_task(poll_status(http, t, stop))
        fetches = asyncio.gather(*fetch_calls(http, t))
        await asyncio.sleep(1.0)  # all of them in flight
        under, problems = await visitor_times(http, t, t.scale.probes)
        replies = await fetches
        stop.set()
        status_s = await status
    c = fetch_counts(replies)
    worst = max(under)
    figures = {**c, "alone_s": base, "under_load_s": under, "ratio": worst / base,
               "queue_status_p50_s": pct(status_s, 50), "queue_status_max_s": max(status_s, default=0)}
    if c["other"]:
        problems.append(f"{c['other']} fetches neither answered nor refused 'busy': {c['other_example']}")
    met = not problems and worst <= t.scale.max_ratio * base and figures["queue_status_max_s"] < 1.0
    return AttackResult(
        "fetch-flood",
        f"{c['calls']} fetches: {c['data']} data, {c['busy']} busy, {c['other']} other (slowest "
        f"{c['slowest_s']}s); visitor {ratio_text(under, base)}; queue/status max "
        f"{figures['queue_status_max_s']:.2f}s",
        f"visitor <= {t.scale.max_ratio:g}x alone, 0 errors; queue/status < 1 s; every fetch data or 'busy'", met, figures, problems)


# --- 3. combined ------------------------------------------------------------------------------------

async def _combined(t: Target) -> AttackResult:
    async with http_client() as http:
        await wait_exports_idle(http, t)
        base = await alone(http, t)
        flood = ExportFlood.start(http, t, t.scale.exports)
        fetches = asyncio.gather(*fetch_calls(http, t))
        await flood.wait_sorted()
        under, problems = await visitor_times(http, t, t.scale.probes)
        counts = flood.counts()
        await flood.close()
        replies = await fetches
        freed = await wait_exports_idle(http, t)
    c = fetch_counts(replies)
    worst = max(under)
    figures = {"exports": counts, "fetches": c, "alone_s": base, "under_load_s": under, "ratio": worst / base,
               "queue_free_after_close_s": freed}
    met = not problems and worst <= t.scale.max_ratio * base
    return AttackResult(
        "combined", f"{_export_summary(counts)}; {c['calls']} fetches: {c['data']} data, {c['busy']} busy, "
                    f"{c['other']} other; "
                    f"visitor {ratio_text(under, base)}",
        f"visitor <= {t.scale.max_ratio:g}x alone, 0 errors", met, figures, problems)


# --- 4. large bodies ---------------------------------------------------------------------------------

@dataclass
class Sent:
    """A body pushed at the server over a raw socket, stopping as soon as the server answers."""

    status: int | None  # None: no HTTP answer (the connection was closed or reset first)
    sent: int  # bytes handed to the socket before the answer (or the close)
    seconds: float
    body: str = ""
    error: str = ""


def filler(size: int, chunk: int = MB) -> Iterator[bytes]:
    """``size`` bytes in ``chunk``-sized pieces, one buffer reused: the client never holds the body."""
    block = b"x" * chunk
    while size > 0:
        yield block[: min(chunk, size)]
        size -= chunk


def send_body(url: str, path: str, parts: Iterable[bytes], length: int | None,
              content_type: str = "application/json", timeout: float = 120) -> Sent:
    """POST ``parts`` to ``path``: with ``Content-Length: length``, or chunked when ``length`` is
    None. Stops sending the moment the server answers, then reads that answer."""
    u = urlparse(url)
    t0 = time.perf_counter()
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=30)
    head = [f"POST /{path.lstrip('/')} HTTP/1.1", f"Host: {u.hostname}:{u.port}",
            f"Content-Type: {content_type}", "Connection: close",
            f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"]
    sent, error = 0, ""
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        frames = iter(parts) if length is not None else \
            _then((b"%x\r\n%s\r\n" % (len(p), p) for p in parts), b"0\r\n\r\n")
        pending = memoryview(b"")
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if not len(pending):
                nxt = next(frames, None)
                if nxt is None:
                    break
                pending = memoryview(nxt)
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # the server answered (or closed) before taking the whole body
            if writable:
                try:
                    n = sock.send(pending)
                except BlockingIOError:
                    continue
                pending, sent = pending[n:], sent + n
        else:
            error = "timed out sending"
    except OSError as e:  # reset or broken pipe: the server closed the connection mid-body
        error = f"{type(e).__name__}: {e}"
    data = b""
    try:
        sock.setblocking(True)
        sock.settimeout(30)
        while True:
            b = sock.recv(65536)
            if not b:
                break
            data += b
            if b"\r\n\r\n" in data and _complete(data):
                break
    except OSError as e:
        error = error or f"{type(e).__name__} reading the answer: {e}"
    finally:
        sock.close()
    status = None
    if data.startswith(b"HTTP/"):
        try:
            status = int(data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            pass
    body = data.split(b"\r\n\r\n", 1)[1].decode("utf-8", "replace")[:300] if b"\r\n\r\n" in data else ""
    return Sent(status, sent, time.perf_counter() - t0, body, error)


def _then(frames: Iterator[bytes], last: bytes) -> Iterator[bytes]:
    yield from frames
    yield last


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def attack_big_bodies(t: Target) -> AttackResult:
    s = t.scale
    rss0 = t.rss_mb()
    plan = [(route, s.big_mb, with_length) for route in ("gradio_api/call/generate", "gradio_api/queue/join")
            for with_length in (True, False)]
    plan += [(("gradio_api/call/generate", "gradio_api/queue/join")[i % 2], s.body_mb, i % 4 < 2)
             for i in range(s.bodies)]

    def one(item):
        route, mb, with_length = item
        return item, send_body(t.url, route, filler(mb * MB), mb * MB if with_length else None)

    peak = rss0 or 0.0
    results = []
    with ThreadPoolExecutor(8) as pool:
        for item, sent in pool.map(one, plan):
            results.append((item, sent))
            peak = max(peak, t.rss_mb() or 0.0)
    rss1 = t.rss_mb()
    statuses: dict[str, int] = {}
    for _, r in results:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    problems = [f"{mb} MB to /{route} ({'Content-Length' if cl else 'chunked'}): {r.status} {r.error} {r.body}"[:250]
                for (route, mb, cl), r in results if r.status != 413]
    taken = max(r.sent for _, r in results) / MB
    growth = (rss1 - rss0) if rss0 and rss1 else None
    figures = {"bodies": len(results), "statuses": statuses, "most_sent_mb": round(taken, 2),
               "slowest_s": round(max(r.seconds for _, r in results), 2),
               "rss_before_mb": rss0, "rss_after_mb": rss1, "rss_peak_mb": peak, "rss_growth_mb": growth}
    rss_ok = rss1 is None or (rss1 <= RSS_LIMIT_MB and (growth or 0) <= 100)
    rss = f"RSS {rss0:.0f} -> {rss1:.0f} MB (peak {peak:.0f})" if rss0 and rss1 else "RSS n/a"
    return AttackResult(
        "big-bodies",
        f"{len(results)} bodies (4 x {s.big_mb} MB, {s.bodies} x {s.body_mb} MB): statuses {statuses}; at most "
        f"{taken:.1f} MB sent before the answer; {rss}",
        f"413 each; RSS <= {RSS_LIMIT_MB} MB, growth <= 100 MB", not problems and rss_ok, figures, problems)


# --- 5. uploads -------------------------------------------------------------------------------------

def attack_uploads(t: Target) -> AttackResult:
    boundary = "glyphattackboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + MB + len(tail)
    dirs = [d for d in (t.cache_dir, t.tmp_dir) if d is not None]
    before = sum(dir_usage(d)[0] for d in dirs)
    routes = ["gradio_api/upload"] * t.scale.uploads + ["gradio_api/upload/", "gradio_api/upload?upload_id=x",
                                                        "upload"]

    def one(route):
        return route, send_body(t.url, route, _then(iter([head, b"x" * MB]), tail), size,
                                f"multipart/form-data; boundary={boundary}")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, routes))
    time.sleep(0.5)
    after = sum(dir_usage(d)[0] for d in dirs)
    statuses: dict[str, int] = {}
    for _, r in results:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    main = [r for route, r in results if route == "gradio_api/upload"]
    # uploads are open (a visitor's own glyphs): each bounded in bytes, all together bounded per
    # window (the guard's 429), each file deleted by the app once read or by Gradio's clean-up
    problems = [f"/{route}: {r.status} {r.error} {r.body}"[:200] for route, r in results
                if (r.status not in (200, 429) if route == "gradio_api/upload" else r.status not in (200, 307, 404, 405, 429))]
    added = after - before
    budget = UPLOAD_BUDGET + MB  # what the guard lets in per window, and one upload in flight
    figures = {"uploads": len(main), "variants": routes[len(main):], "statuses": statuses,
               "bytes_added": added if dirs else None, "dirs": [str(d) for d in dirs]}
    where = f"{added} bytes added under {' and '.join(d.name for d in dirs)}" if dirs else "temp dir unknown"
    return AttackResult(
        "uploads", f"{len(main)} x 1 MB + 3 variant routes: statuses {statuses}; {where}",
        f"200 or 429 each (variants also 307/404/405); <= {budget / MB:.0f} MB written",
        not problems and (not dirs or added <= budget), figures, problems)


# --- 6. session churn -------------------------------------------------------------------------------

async def _session_churn(t: Target) -> AttackResult:
    problems = []
    me = session()  # the active visitor: every event with this session, as its page sends them
    text, text2 = t.new_text(8), t.new_text(8)
    layers = list(t.layers)

    def check(label: str, r: Reply) -> bool:
        if not r.ok:
            problems.append(f"active visitor, {label}: {r.kind} {r.message[:200]}")
        if "not in the list of choices" in r.message:
            problems.append(f"active visitor, {label}: a choices error: {r.message[:200]}")
        return r.ok

    async def generate(label: str, txt: str) -> bool:
        r = await join(http, t.url, t.fns["generate"], [txt, t.style, "(none)", 0.5, layers, None], me)
        return check(f"{label} /generate", r)

    async def pick(label: str, index: int, txt: str) -> bool:
        """A glyph picked in the attention panel: needs the session's State from its last Generate."""
        r = await join(http, t.url, t.fns["pick_char"], [index, None], me)
        ticket = r.data[0] if r.ok and isinstance(r.data, list) and r.data else None
        if check(f"{label} panel", r) and not (isinstance(ticket, dict) and ticket.get("char") == txt[index]):
            problems.append(f"active visitor, {label} panel: shows {ticket!r}, not {txt[index]!r}")
            return False
        return r.ok

    async with http_client() as http:
        before_ok = await generate("before", text) and await pick("before", 1, text)
        rss0 = t.rss_mb()
        shared = t.new_text(4)
        first = await call(http, t.url, "generate", [shared, t.style, "(none)", 0.5, layers])
        if not first.ok:
            problems.append(f"the other sessions' /generate failed: {first.message[:200]}")
        gate = asyncio.Semaphore(8)
        replies: list[Reply] = []

        async def other():
            async with gate:  # the same (cached) request, each from a new session
                replies.append(await call(http, t.url, "generate", [shared, t.style, "(none)", 0.5, layers],
                                          session=session()))

        t0 = time.perf_counter()
        await asyncio.gather(*(other() for _ in range(t.scale.sessions)))
        wall = time.perf_counter() - t0
        rss1 = t.rss_mb()
        # the panel first: it works only if the session's State from before the others is still there
        kept = await pick("after (its State from before)", 2, text)
        after_ok = kept and await generate("after", text2) and await pick("after", 1, text2)
    errors = [r for r in replies if not r.ok]
    if errors:
        problems.append(f"{len(errors)} of the other sessions failed: {errors[0].kind} {errors[0].message[:200]}")
    lat = [r.seconds for r in replies]
    figures = {"sessions": len(replies), "errors": len(errors), "wall_s": wall, "p50_s": pct(lat, 50),
               "p95_s": pct(lat, 95), "rss_before_mb": rss0, "rss_after_mb": rss1,
               "active_before": before_ok, "state_kept": kept, "active_after": after_ok}
    rss = f"RSS {rss0:.0f} -> {rss1:.0f} MB" if rss0 and rss1 else "RSS n/a"
    return AttackResult(
        "session-churn",
        f"{len(replies)} other sessions in {wall:.0f}s ({len(errors)} errors, p50 {figures['p50_s']:.2f}s); "
        f"active visitor before {'ok' if before_ok else 'FAIL'}, its State kept {'yes' if kept else 'NO'}, "
        f"after {'ok' if after_ok else 'FAIL'}; {rss}",
        f"the active visitor's session works after the others; 0 errors; RSS <= {RSS_LIMIT_MB} MB",
        not problems and before_ok and after_ok and (rss1 or 0) <= RSS_LIMIT_MB, figures, problems)


# --- 7. disconnect mid-job --------------------------------------------------------------------------

def _making(r: Reply) -> bool:
    return bool(r.updates) and isinstance(r.updates[-1], dict) and r.updates[-1].get("state") == "making"


async def _disconnect(t: Target) -> AttackResult:
    text = t.export_text(t.scale.export_chars)
    args = [text, t.style, "ttf", False]
    problems = []
    async with http_client() as http:
        idle = await wait_exports_idle(http, t)
        if idle is None:
            problems.append("the export queue never became empty before the attack")
        first = await asyncio.wait_for(call(http, t.url, "make_font", args, until=_making), timeout=300)
        closed_at = time.perf_counter()
        if first.kind != "closed":
            problems.append(f"the first export never started: {first.kind} {first.message[:200]}")
        # the second visitor arrives as the first page goes away: it waits for the slot, then starts
        deadline = 120.0
        second = Reply()
        try:
            await asyncio.wait_for(call(http, t.url, "make_font", args, reply=second,
                                        until=lambda r: _making(r) or r.elapsed() > deadline), timeout=deadline + 30)
        except asyncio.TimeoutError:
            pass
        started = next((s for u, s in zip(second.updates, second.update_s)
                        if isinstance(u, dict) and u.get("state") == "making"), None)
        free_s = (second.t0 + started - closed_at) if started is not None else None
        first_state = second.updates[0] if second.updates else None
        if free_s is None:
            problems.append(f"the second export never started: {second.kind} {second.message[:200]}")
        await wait_exports_idle(http, t)  # the second is abandoned too
    figures = {"first_ran_s": first.seconds, "second_first_update": first_state, "slot_free_after_s": free_s}
    shown = f"{free_s:.1f}s" if free_s is not None else "never"
    return AttackResult(
        "disconnect",
        f"export closed after its first 'making' update ({first.seconds:.1f}s in); the next visitor's export "
        f"started {shown} later (its first update: {(first_state or {}).get('state')})",
        f"the slot is free <= {t.scale.free_within_s:g} s after the page went away",
        not problems and free_s is not None and free_s <= t.scale.free_within_s,
        figures, problems)


# --- 8. exports from many visitors -----------------------------------------------------------------

async def _exporters(t: Target) -> AttackResult:
    k = t.scale.exporters
    text = t.export_text(t.scale.exporter_chars)
    args = [text, t.style, "ttf", False]
    problems = []
    async with http_client() as http:
        if await wait_exports_idle(http, t) is None:
            problems.append("the export queue never became empty before the attack")
        visitors = [Visitor(http, t.url) for _ in range(k)]
        firsts = await asyncio.gather(*(v.send("make_font", args) for v in visitors))
        deadline = time.perf_counter() + 60
        while not all(r.updates or r.kind != "pending" for r in firsts) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        # each visitor asks again while its first export waits or runs
        seconds = await asyncio.gather(*(v.send("make_font", args) for v in visitors))
        await asyncio.gather(*(v.wait() for v in visitors))
    rows = []
    for r in firsts:
        first = r.updates[0] if r.updates and isinstance(r.updates[0], dict) else {}
        start = next((s for u, s in zip(r.updates, r.update_s) if isinstance(u, dict) and u.get("state") == "making"),
                     None)
        result = r.data[0] if isinstance(r.data, list) and r.data and isinstance(r.data[0], dict) else {}
        done = result.get("state") == "done"
        rows.append({"place": first.get("ahead", 0), "first_update": first.get("state"), "wait_s": start,
                     "total_s": r.seconds, "done": done, "glyphs": len(result.get("chars") or ""),
                     "t_start": (r.t0 + start) if start is not None else None, "error": r.message[:200]})
        if not done:
            problems.append(f"an export did not finish: {r.kind} {r.message[:200]}")
    for s in seconds:
        if not (s.kind == "error" and "one at a time" in s.message):
            problems.append(f"a second export at the same time was not refused 'one at a time': {s.kind} {s.message[:200]}")
    arrival = sorted(range(k), key=lambda i: rows[i]["place"])
    started = sorted(range(k), key=lambda i: rows[i]["t_start"] or float("inf"))
    if arrival != started or len({r["place"] for r in rows}) != k:
        problems.append(f"not served in arrival order: places {[r['place'] for r in rows]}, start order {started}")
    for r in rows:
        r.pop("t_start")
    figures = {"visitors": rows, "second_refusals": [s.message[:120] for s in seconds]}
    each = ", ".join(f"#{r['place']} waited {r['wait_s'] or 0:.0f}s, {r['total_s']:.0f}s in all" for r in
                     sorted(rows, key=lambda r: r["place"]))
    return AttackResult(
        "exporters", f"{k} visitors x {len(text)} chars: {each}; second exports refused "
                     f"{sum('one at a time' in s.message for s in seconds)}/{k}",
        "all finish, none errors, in arrival order; a visitor's 2nd export refused 'one at a time'",
        not problems, figures, problems)


# --- 9. log flooding --------------------------------------------------------------------------------

def flood_cases(t: Target) -> list[tuple[str, str, list]]:
    """(name, api, data): one 60 KB invalid value each (bodies are capped at 64 KiB)."""
    big = "x" * 60_000
    s, layers = t.style, list(t.layers)
    return [
        ("generate style", "generate", ["永和", big, "(none)", 0.5, layers]),
        ("generate blend", "generate", ["永和", s, big, 0.5, layers]),
        ("generate weight", "generate", ["永和", s, t.styles[-1], big, layers]),
        ("generate layers", "generate", ["永和", s, "(none)", 0.5, [big]]),
        ("generate text (Latin)", "generate", [big, s, "(none)", 0.5, layers]),
        ("query_point index", "query_point", ["永和", s, "(none)", 0.5, layers, big, 1.0, 1.0]),
        ("make_font style", "make_font", ["永和", big, "ttf", False]),
        ("make_font format", "make_font", ["永和", s, big, False]),
        ("make_font complete", "make_font", ["永和", s, "ttf", big]),
    ]


async def _log_flood(t: Target) -> AttackResult:
    if t.server is None:
        return AttackResult("log-flood", "skipped: needs the server's log (start it here, without --url)",
                            "log < 1 KB a request, no traceback", None)
    cases = flood_cases(t)
    log_path = Path(t.server.log_path)
    t.server.log_text()  # flush
    size0 = log_path.stat().st_size
    problems, longest = [], 0
    async with http_client() as http:
        for i in range(t.scale.log_requests):
            name, api, data = cases[i % len(cases)]
            r = await call(http, t.url, api, data)
            longest = max(longest, len(r.message))
            if r.kind != "error" or not clear(r.message) or len(r.message) > 1000:
                problems.append(f"{name}: {r.kind} {r.status} message of {len(r.message)} chars: {r.message[:150]!r}")
    await asyncio.sleep(1.0)
    text = t.server.log_text()
    new = text.encode()[size0:].decode("utf-8", "replace")
    per = len(new.encode()) / t.scale.log_requests
    tracebacks = new.count("Traceback (most recent call last)")
    if tracebacks:
        problems.append(f"{tracebacks} tracebacks in the log")
    figures = {"requests": t.scale.log_requests, "log_bytes": len(new.encode()), "log_bytes_per_request": per,
               "tracebacks": tracebacks, "longest_message": longest, "log_tail": new[-600:]}
    return AttackResult(
        "log-flood", f"{t.scale.log_requests} x 60 KB invalid values: log +{len(new.encode())} B "
                     f"({per:.0f} B a request), {tracebacks} tracebacks, longest message {longest} chars",
        "each refused with a clear message (< 1000 chars); log < 1 KB a request, no traceback",
        not problems and per < 1024, figures, problems)


# --- 10. strict values ------------------------------------------------------------------------------

async def _strict_values(t: Target) -> AttackResult:
    s, layers = t.style, list(t.layers)
    judged = [  # (name, api, data, what the message must say, or "" for any clear message)
        ("complete 'false'", "make_font", ["永和", s, "ttf", "false"], "complete"),
        ("complete 'true'", "make_font", ["永和", s, "ttf", "true"], "complete"),
        ("complete 0", "make_font", ["永和", s, "ttf", 0], "complete"),
        ("complete 1", "make_font", ["永和", s, "ttf", 1], "complete"),
        ("format 'TTF'", "make_font", ["永和", s, "TTF", False], "format"),
        ("format 'woff2'", "make_font", ["永和", s, "woff2", False], "format"),
        ("export missing arguments", "make_font", ["永和"], ""),
        ("generate missing arguments", "generate", ["永和"], ""),
        ("generate no arguments", "generate", [], ""),
        ("query_point missing arguments", "query_point", ["永和"], ""),
        ("generate layers a number", "generate", ["永和", s, "(none)", 0.5, 3], ""),
    ]
    # Reported, not judged: Gradio itself is lenient here (a Textbox turns any value into text,
    # extra values are ignored), and nothing unsafe follows.
    informational = [
        ("export text a list", "make_font", [["永"], s, "ttf", False]),
        ("generate too many arguments", "generate", ["永和", s, "(none)", 0.5, layers, 1, 2]),
    ]
    rows, info, problems = [], [], []
    async with http_client() as http:
        for name, api, data, says in judged:
            r = await call(http, t.url, api, data)
            ok = r.kind == "error" and clear(r.message) and not r.updates and (not says or says in r.message)
            rows.append({"case": name, "kind": r.kind, "message": r.message[:160], "started": bool(r.updates),
                         "ok": ok})
            if not ok:
                problems.append(f"{name}: {r.kind} {r.status} updates={len(r.updates)} message {r.message[:160]!r}")
        for name, api, data in informational:
            r = await call(http, t.url, api, data)
            info.append({"case": name, "kind": r.kind, "message": r.message[:160], "started": bool(r.updates)})
    passed = sum(r["ok"] for r in rows)
    lenient = ", ".join(f"{i['case']}: {i['kind']}" for i in info)
    return AttackResult(
        "strict-values", f"{passed}/{len(rows)} refused at once with a clear message; not judged: {lenient}",
        "each refused at once with a specific message (complete: says 'complete')", not problems,
        {"cases": rows, "informational": info}, problems)


# --- running them ------------------------------------------------------------------------------------

def _sync(fn: Callable[[Target], Awaitable[AttackResult]]) -> Callable[[Target], AttackResult]:
    def run(t: Target) -> AttackResult:
        return asyncio.run(fn(t))
    run.__name__ = fn.__name__.lstrip("_")
    run.__doc__ = fn.__doc__
    return run


attack_queue_fill = _sync(_queue_fill)
attack_fetch_flood = _sync(_fetch_flood)
attack_combined = _sync(_combined)
attack_session_churn = _sync(_session_churn)
attack_disconnect = _sync(_disconnect)
attack_exporters = _sync(_exporters)
attack_log_flood = _sync(_log_flood)
attack_strict_values = _sync(_strict_values)

ATTACKS: dict[str, Callable[[Target], AttackResult]] = {
    "queue-fill": attack_queue_fill,
    "fetch-flood": attack_fetch_flood,
    "combined": attack_combined,
    "big-bodies": attack_big_bodies,
    "uploads": attack_uploads,
    "session-churn": attack_session_churn,
    "disconnect": attack_disconnect,
    "exporters": attack_exporters,
    "log-flood": attack_log_flood,
    "strict-values": attack_strict_values,
}


def run_attacks(t: Target, names: Iterable[str] | None = None) -> list[AttackResult]:
    """The named attacks (all by default) in ``ATTACKS``' order; an attack that raises is reported
    as missed, with its exception."""
    chosen = [n for n in ATTACKS if not names or n in set(names)]
    results = []
    for i, name in enumerate(chosen, 1):
        t.log(f"  attack {name} ({i}/{len(chosen)}) ...")
        t0 = time.perf_counter()
        try:
            r = ATTACKS[name](t)
        except Exception as e:
            r = AttackResult(name, f"the attack itself failed: {type(e).__name__}: {e}"[:300], "-", False)
        r.seconds = time.perf_counter() - t0
        t.log(f"    {'met' if r.met else 'skipped' if r.met is None else 'MISSED'} in {r.seconds:.0f}s: {r.summary}")
        for p in r.problems[:5]:
            t.log(f"      {p}")
        results.append(r)
    return results


def print_attacks(results: list[AttackResult], width: int = 72) -> None:
    print(f"\n(d) attacks: {len(results)}")
    head = f"{'attack':<14} | {'key figures':<{width}} | {'target':<44} | met?"
    print(head)
    print("-" * len(head))
    for r in results:
        figs = textwrap.wrap(r.summary, width) or [""]
        target = textwrap.wrap(r.target, 44) or [""]
        met = "yes" if r.met else "skipped" if r.met is None else "NO"
        for i in range(max(len(figs), len(target))):
            print(f"{(r.name if i == 0 else ''):<14} | {(figs[i] if i < len(figs) else ''):<{width}} | "
                  f"{(target[i] if i < len(target) else ''):<44} | {met if i == 0 else ''}")
    for r in results:
        for p in r.problems[:5]:
            print(f"  {r.name}: {p}")


def attacks_met(results: list[AttackResult]) -> bool:
    """Every attack that ran met its target (skipped ones, ``met is None``, did not run)."""
    return all(r.met is not False for r in results)


def as_json(results: list[AttackResult]) -> list[dict]:
    return [asdict(r) for r in results]


__all__ = ["ATTACKS", "FULL", "QUICK", "AttackResult", "Reply", "Scale", "Target", "as_json",
           "attacks_met", "call", "join", "print_attacks", "run_attacks", "send_body", "server_fn"]
