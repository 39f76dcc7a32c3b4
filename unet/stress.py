"""Reliability checks of the running app over its public API: bad inputs, concurrency, soak.

    python -m unet.stress [--clients 16] [--requests 50] [--soak 1000] [--url URL]

Without ``--url`` the app is started here (``python app.py`` on a free port, with a fresh
GRADIO_TEMP_DIR and TMPDIR, so the Gradio cache and the app's download dir are this run's alone).

1. Bad-input matrix: every case goes through ``gradio_client`` (or, for values JSON cannot carry
   from the client such as NaN, a raw request to the same endpoint). Each must give a result or a
   clear message, never a traceback; the server must answer a good request after each one.
2. Concurrency: N threads, each with its own ``Client``, send M requests (styles, blends, layer
   toggles; deterministic per (client, i)). Every response's glyph images are downloaded and compared
   pixel for pixel with the same request run alone beforehand.
3. Soak: K requests in a row with varying text; server RSS and the sizes of the Gradio cache and the
   download dir are sampled along the way.

Exit status 0 when every target is met (no errors, tracebacks or mismatches; RSS growth within
``--rss-limit-mb``), 1 otherwise. ``--json PATH`` writes every figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
STYLES = ["LXGW WenKai", "AR PL UKai", "Smiley Sans"]  # the shipped checkpoint's, used if /config fails
LAYERS = ["32x32", "16x16"]
GOOD_TEXT = "永"
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"\n]*", line \d+|^\s*File "'
                       r'|\bsite-packages/|\w+Error: .*\n\s+at ', re.M)
# Messages that are not tracebacks but do not say what was wrong with the request either.
GENERIC = ("Something went wrong", "has raised an exception but has not enabled verbose error reporting")
TEXTS = ["永和九年", "天地玄黃", "春眠不覺曉", "字體風格遷移", "宇宙洪荒", "處處聞啼鳥", "龘靐齉爩", "歲在癸丑"]


# --- talking to the app --------------------------------------------------------------------------

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


def gallery_items(outcome: Outcome) -> list[dict]:
    """The 'Generated glyphs' gallery of a /generate or /toggle result."""
    if not outcome.ok or not isinstance(outcome.data, (list, tuple)) or len(outcome.data) < 2:
        return []
    return list(outcome.data[1] or [])


def glyph_count(outcome: Outcome) -> int:
    if not outcome.ok:
        return 0
    if isinstance(outcome.data, dict):  # /query_point: one character
        return 1 if outcome.data.get("char") else 0
    return len(gallery_items(outcome))


def fetch_png(http, item) -> np.ndarray:  # noqa: F821
    import numpy as np
    from PIL import Image

    img = item.get("image", item) if isinstance(item, dict) else item
    url = img.get("url") if isinstance(img, dict) else None
    if url:
        r = http.get(url, timeout=60)
        r.raise_for_status()
        data = r.content
    else:  # a local path (a client that downloads files, or an in-process check)
        data = Path(img["path"] if isinstance(img, dict) else img).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"not a PNG: {data[:16]!r}")
    return np.asarray(Image.open(io.BytesIO(data)))


@dataclass
class Signature:
    """What must be identical between a request run alone and the same request under load."""

    glyphs: list  # numpy arrays, one per generated glyph
    captions: list[str]
    status: str

    def diff(self, other: Signature) -> str | None:
        import numpy as np

        if self.captions != other.captions:
            return f"captions differ: {self.captions} != {other.captions}"
        if self.status != other.status:
            return f"status differs: {self.status!r} != {other.status!r}"
        for i, (a, b) in enumerate(zip(self.glyphs, other.glyphs)):
            if a.shape != b.shape or not np.array_equal(a, b):
                n = int((a != b).sum()) if a.shape == b.shape else -1
                return f"glyph {i} ({self.captions[i]}) differs in {n} pixel values"
        return None


def signature(http, outcome: Outcome) -> Signature:
    items = gallery_items(outcome)
    return Signature([fetch_png(http, it) for it in items], [it.get("caption") for it in items],
                     str(outcome.data[2]))


# --- (a) bad-input matrix --------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    api: str
    args: tuple
    # "result" (all usable), "partial" (result + skipped/notes), "error" (a clear message) or
    # "rejected": refused with no traceback, but by Gradio's input preprocessing before the app's code
    # runs, which (show_error=False) answers a wrong *type* with a generic message or none at all
    expect: str
    raw: str | None = None  # send this JSON body instead (values gradio_client cannot encode)


def bad_input_cases(styles: list[str], layers: list[str], quick: bool = False) -> list[Case]:
    """Every bad input, alone and (where the text has some usable characters) mixed with good ones.

    ``quick`` keeps the 10,000-character case to a few distinct characters (one short forward
    pass instead of the 64-glyph maximum)."""
    s, b = styles[0], styles[1 % len(styles)]
    L = list(layers)

    def gen(name, text, expect, style=s, blend="(none)", weight=0.5, lay=L, api="/generate"):
        return Case(name, api, (text, style, blend, weight, lay), expect)

    def qp(name, expect, text="永和", style=s, blend="(none)", weight=0.5, lay=L, index=0, x=10.0, y=10.0):
        return Case(name, "/query_point", (text, style, blend, weight, lay, index, x, y), expect)

    def raw(name, api, data, expect):
        body = json.dumps({"data": data}, ensure_ascii=True, allow_nan=True)
        return Case(name, api, tuple(data), expect, raw=body)

    distinct = "".join(chr(0x4E00 + i) for i in range(10_000))
    ten_k = ("永和九年" * 2500) if quick else distinct
    megabyte = "天地玄黃" * (1_000_000 // 12)  # 1 MB of UTF-8 (3 bytes a character)
    return [
        gen("empty text", "", "error"),
        gen("whitespace only", " \t\n\u3000 ", "error"),
        raw("text null", "/generate", [None, s, "(none)", 0.5, L], "error"),
        gen("10,000 characters" + (" (repeated)" if quick else " (distinct)"), ten_k,
            "result" if quick else "partial"),
        gen("1 MB of text", megabyte, "partial"),
        gen("emoji only", "😀👍🏽🇨🇳", "error"),
        gen("emoji + CJK", "永😀和👍🏽", "partial"),
        gen("Latin + digits", "abc XYZ 0123", "error"),
        gen("Latin + digits + CJK", "abc 123 永和", "partial"),
        gen("CJK Ext-B not in font", "𠀀𠀁", "error"),
        gen("Ext-B + CJK", "𠀀永𠀁和", "partial"),
        gen("control + zero-width", "\x00\x07\x1b\u200b\u200c\u200d\ufeff", "error"),
        gen("control/zero-width + CJK", "永\x00\u200b和\ufeff", "partial"),
        gen("RTL marks", "\u200f\u202e\u2067\u061c", "error"),
        gen("RTL marks + CJK", "\u202e永和\u200f\u202c", "partial"),
        raw("lone surrogate + CJK", "/generate", ["\ud800永", s, "(none)", 0.5, L], "partial"),
        gen("unknown style", "永和", "error", style="No Such Style"),
        gen("unknown blend style", "永和", "error", blend="No Such Style"),
        gen("unknown layer names", "永和", "error", lay=["8x8", "bogus"]),
        gen("unknown layer (toggle)", "永和", "error", lay=["64x64"], api="/toggle"),
        gen("weight -0.5", "永和", "error", blend=b, weight=-0.5),
        gen("weight 1.5", "永和", "error", blend=b, weight=1.5),
        raw("weight NaN (JSON literal)", "/generate", ["永和", s, b, float("nan"), L], "error"),
        raw("weight Infinity (JSON literal)", "/generate", ["永和", s, b, float("inf"), L], "error"),
        gen("weight 'nan' (string)", "永和", "error", blend=b, weight="nan"),
        raw("weight '0.5' (string)", "/generate", ["永和", s, b, "0.5", L], "result"),
        raw("weight null", "/generate", ["永和", s, b, None, L], "error"),
        raw("text is a number", "/generate", [123, s, "(none)", 0.5, L], "error"),
        raw("layers null", "/generate", ["永和", s, "(none)", 0.5, None], "rejected"),
        raw("layers a string", "/generate", ["永和", s, "(none)", 0.5, L[0]], "error"),
        raw("missing arguments", "/generate", ["永和"], "rejected"),
        qp("query x=-50, y=1e9", "result", x=-50.0, y=1e9),
        qp("query index 99", "error", index=99),
        qp("query index -1", "error", index=-1),
        qp("query index 'abc'", "error", index="abc"),
        qp("query point 'nan'", "error", x="nan"),
        raw("query point NaN (JSON literal)", "/query_point",
            ["永和", s, "(none)", 0.5, L, 0, float("nan"), 5.0], "error"),
        qp("query unknown style", "error", style="No Such Style"),
        qp("query unknown layer", "error", lay=["bogus"]),
        qp("query weight -1", "error", blend=b, weight=-1.0),
        raw("query weight NaN (JSON literal)", "/query_point",
            ["永和", s, b, float("nan"), L, 0, 5.0, 5.0], "error"),
        qp("query text emoji only", "error", text="😀"),
        raw("query index null", "/query_point", ["永和", s, "(none)", 0.5, L, None, 5.0, 5.0], "error"),
        raw("query text a list", "/query_point", [["永"], s, "(none)", 0.5, L, 0, 5.0, 5.0], "error"),
        raw("query blend a list", "/query_point", ["永和", s, [b], 0.5, L, 0, 5.0, 5.0], "error"),
        raw("query layers an object", "/query_point", ["永和", s, "(none)", 0.5, {"a": 1}, 0, 5.0, 5.0],
            "error"),
    ]


@dataclass
class CaseResult:
    name: str
    api: str
    expect: str
    got: str  # "result" | "error" | "client-error" | "http-error"
    glyphs: int
    message: str
    traceback: bool
    clear: bool
    alive: bool
    passed: bool
    seconds: float
    note: str = ""  # e.g. the status line of a partial result


def alive(client, style: str = STYLES[0]) -> bool:
    """The server answers a good request correctly."""
    out = call(client, "/query_point", (GOOD_TEXT, style, "(none)", 0.5, [], 0, 1.0, 1.0))
    return out.ok and isinstance(out.data, dict) and out.data.get("char") == GOOD_TEXT


def run_case(client, url: str, case: Case, style: str = STYLES[0]) -> CaseResult:
    out = raw_call(url, case.api, case.raw) if case.raw else call(client, case.api, case.args)
    got = "result" if out.ok else ("error" if out.kind == "app-error" else out.kind)
    n = glyph_count(out)
    note = ""
    if out.ok and case.api != "/query_point":
        status = str(out.data[2]) if len(out.data) > 2 else ""
        note = status.replace("\n", " ")
    elif out.ok:
        note = f"char {out.data.get('char')!r} at point {out.data.get('point')}"
    is_alive = alive(client, style)
    if case.expect == "error":
        passed = got == "error" and out.clear
    elif case.expect == "rejected":
        passed = got == "error"
    elif case.expect == "partial":
        passed = got == "result" and n >= 1 and ("Skipped" in note or "only the first" in note)
    else:
        passed = got == "result" and n >= 1
    passed = passed and not out.traceback and is_alive
    return CaseResult(case.name, case.api, case.expect, got, n, out.message, out.traceback, out.clear,
                      is_alive, passed, out.seconds, note)


def run_matrix(url: str, quick: bool = False, log: Callable[[str], None] = print) -> list[CaseResult]:
    styles, layers = app_choices(url)
    client = make_client(url)
    try:
        results = []
        for case in bad_input_cases(styles, layers, quick):
            results.append(run_case(client, url, case, styles[0]))
            log(f"  {case.name}: {'ok' if results[-1].passed else 'FAIL'} ({results[-1].seconds:.1f}s)")
        return results
    finally:
        client.close()


def _clip(s: str, n: int) -> str:
    s = "".join(c if unicodedata.category(c)[0] != "C" else "·" for c in s.replace("\n", " "))
    return s if len(s) <= n else s[: n - 1] + "…"


def print_matrix(results: list[CaseResult]) -> None:
    print(f"\n(a) bad-input matrix: {len(results)} cases")
    head = f"{'case':<32} {'endpoint':<13} {'expect':<8} {'got':<7} {'glyphs':>6} {'tb':>3} {'clear':>5} {'alive':>5} {'pass':>4}  message / status"
    print(head)
    print("-" * len(head))
    for r in results:
        text = r.message if r.got != "result" else r.note
        print(f"{_clip(r.name, 32):<32} {r.api:<13} {r.expect:<8} {r.got:<7} {r.glyphs:>6} "
              f"{'YES' if r.traceback else 'no':>3} {('-' if r.got == 'result' else 'yes' if r.clear else 'no'):>5} "
              f"{'yes' if r.alive else 'NO':>5} "
              f"{'ok' if r.passed else 'FAIL':>4}  {_clip(text, 110)}")
    tb = sum(r.traceback for r in results)
    unclear = [r.name for r in results if r.got != "result" and not r.clear]
    print(f"tracebacks in responses: {tb}; errors without a specific message: {len(unclear)} "
          f"{unclear if unclear else ''}; server alive after every case: "
          f"{all(r.alive for r in results)}; cases passing: {sum(r.passed for r in results)}/{len(results)}")


# --- (b) concurrency ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Req:
    api: str
    text: str
    style: str
    blend: str
    weight: float
    layers: tuple[str, ...]

    @property
    def args(self) -> tuple:
        return (self.text, self.style, self.blend, self.weight, list(self.layers))


def request_pool(styles: list[str], layers: list[str], size: int = 24, seed: int = 1234) -> list[Req]:
    """Distinct requests mixing texts, styles, blends and layer toggles."""
    rng = random.Random(seed)
    subsets = [tuple(layers)] + [(n,) for n in layers] + [()]
    pool: list[Req] = []
    for _ in range(size * 50):
        if len(pool) >= size:
            break
        style = rng.choice(styles)
        blend = rng.choice(["(none)"] + [x for x in styles if x != style])
        weight = rng.choice([0.25, 0.5, 0.75]) if blend != "(none)" else 0.5
        enabled = rng.choice(subsets)
        api = "/generate" if enabled == tuple(layers) else "/toggle"
        r = Req(api, rng.choice(TEXTS), style, blend, weight, enabled)
        if r not in pool:
            pool.append(r)
    return pool


def request_for(pool: list[Req], client: int, i: int) -> Req:
    """Deterministic per (client, i)."""
    return pool[random.Random(client * 1_000_003 + i).randrange(len(pool))]


@dataclass
class ConcurrencyReport:
    clients: int
    requests: int
    distinct: int
    errors: int = 0
    mismatches: int = 0
    tracebacks: int = 0
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    reference_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.clients * self.requests

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))] if xs else float("nan")

    def summary(self) -> dict:
        return {"clients": self.clients, "requests_per_client": self.requests, "total": self.total,
                "distinct_requests": self.distinct, "errors": self.errors, "mismatches": self.mismatches,
                "tracebacks": self.tracebacks, "p50_s": self.pct(50), "p95_s": self.pct(95),
                "max_s": max(self.latencies, default=float("nan")), "wall_s": self.wall_s,
                "throughput_rps": len(self.latencies) / self.wall_s if self.wall_s else float("nan"),
                "reference_serial_s": self.reference_s, "problems": self.problems[:20]}


def run_concurrency(url: str, clients: int, requests: int, pool_size: int = 24,
                    log: Callable[[str], None] = print) -> ConcurrencyReport:
    import httpx

    styles, layers = app_choices(url)
    pool = request_pool(styles, layers, pool_size)
    plan = [[request_for(pool, c, i) for i in range(requests)] for c in range(clients)]
    used = list(dict.fromkeys(r for row in plan for r in row))
    rep = ConcurrencyReport(clients, requests, len(used))
    lock = threading.Lock()

    # Reference: each distinct request alone, one after another.
    refs: dict[Req, Signature] = {}
    t0 = time.perf_counter()
    client, http = make_client(url), httpx.Client()
    try:
        for r in used:
            out = call(client, r.api, r.args)
            if not out.ok:
                raise RuntimeError(f"reference request {r} failed: {out.message}")
            refs[r] = signature(http, out)
    finally:
        client.close()
        http.close()
    rep.reference_s = time.perf_counter() - t0
    log(f"  reference: {len(used)} distinct requests served alone in {rep.reference_s:.1f}s")

    start = threading.Barrier(clients + 1)

    def worker(c: int):
        try:
            cl = make_client(url)
        except Exception as e:
            with lock:
                rep.errors += requests
                rep.problems.append(f"client {c}: could not connect: {e}")
            start.wait()
            return
        http = httpx.Client()
        start.wait()
        try:
            for i, r in enumerate(plan[c]):
                out = call(cl, r.api, r.args)
                problem, tb = None, out.traceback
                if not out.ok:
                    problem = f"client {c} request {i} {r.api}: error: {out.message[:200]}"
                else:
                    try:
                        d = refs[r].diff(signature(http, out))
                    except Exception as e:
                        d = f"could not read the glyph images: {type(e).__name__}: {e}"
                    if d:
                        problem = f"client {c} request {i} {r}: MISMATCH {d}"
                with lock:
                    rep.latencies.append(out.seconds)
                    rep.tracebacks += tb
                    if problem:
                        rep.problems.append(problem)
                        if out.ok:
                            rep.mismatches += 1
                        else:
                            rep.errors += 1
        finally:
            cl.close()
            http.close()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    rep.wall_s = time.perf_counter() - t0
    return rep


def print_concurrency(rep: ConcurrencyReport) -> None:
    s = rep.summary()
    print(f"\n(b) concurrency: {rep.clients} clients x {rep.requests} requests = {rep.total} "
          f"({rep.distinct} distinct; reference set served alone in {rep.reference_s:.1f}s)")
    print(f"{'errors':>7} {'mismatch':>8} {'tracebk':>7} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'wall s':>8} {'req/s':>6}")
    print(f"{s['errors']:>7} {s['mismatches']:>8} {s['tracebacks']:>7} {s['p50_s']:>7.2f} "
          f"{s['p95_s']:>7.2f} {s['max_s']:>7.2f} {s['wall_s']:>8.1f} {s['throughput_rps']:>6.2f}")
    print("latency = submit to result as a client sees it, queueing included (the app serves one "
          "generation at a time: concurrency_limit=1)")
    for p in rep.problems[:10]:
        print("  " + p)


# --- (c) soak -----------------------------------------------------------------------------------------

def dir_usage(path: Path | None) -> tuple[int, int, int]:
    """(bytes, files, directories) under path."""
    if path is None or not path.is_dir():
        return 0, 0, 0
    size = files = dirs = 0
    for root, ds, fs in os.walk(path):
        dirs += len(ds)
        for f in fs:
            try:
                size += os.lstat(os.path.join(root, f)).st_size
                files += 1
            except OSError:
                pass
    return size, files, dirs


def rss_bytes(pid: int | None) -> int | None:
    if pid is None:
        return None
    import psutil

    try:
        p = psutil.Process(pid)
        return p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
    except psutil.Error:
        return None


def soak_texts(n: int, per: int = 4) -> list[str]:
    """n texts of ``per`` characters each, walking through the checkpoint's character lists."""
    chars = ""
    for name in ("training_chars.txt", "heldout_chars.txt"):
        f = REPO / "checkpoints" / "glyph-attention-3style" / name
        if f.is_file():
            chars += f.read_text(encoding="utf-8")
    chars = "".join(dict.fromkeys(c for c in chars if "\u4e00" <= c <= "\u9fff")) or \
        "".join(chr(0x4E00 + i) for i in range(20_000))
    return ["".join(chars[(i * per + j) % len(chars)] for j in range(per)) for i in range(n)]


@dataclass
class SoakSample:
    done: int
    elapsed_s: float
    rss_mb: float | None
    cache_mb: float
    cache_files: int
    cache_dirs: int
    download_mb: float
    download_files: int


@dataclass
class SoakReport:
    requests: int
    samples: list[SoakSample] = field(default_factory=list)
    errors: int = 0
    tracebacks: int = 0
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def growth(self) -> dict:
        a, b = self.samples[0], self.samples[-1]
        return {"rss_mb": (b.rss_mb - a.rss_mb) if a.rss_mb is not None and b.rss_mb is not None else None,
                "cache_mb": b.cache_mb - a.cache_mb, "cache_files": b.cache_files - a.cache_files,
                "download_mb": b.download_mb - a.download_mb,
                "download_files": b.download_files - a.download_files}


def run_soak(url: str, requests: int, pid: int | None, cache_dir: Path | None, download_dir: Path | None,
             every: int | None = None, log: Callable[[str], None] = print) -> SoakReport:
    styles, layers = app_choices(url)
    texts = soak_texts(requests)
    rep = SoakReport(requests)
    every = every or max(1, requests // 10)
    t0 = time.perf_counter()

    def sample(done):
        cs, cf, cd = dir_usage(cache_dir)
        ds, df, _ = dir_usage(download_dir)
        rss = rss_bytes(pid)
        rep.samples.append(SoakSample(done, time.perf_counter() - t0, rss / 2**20 if rss else None,
                                      cs / 2**20, cf, cd, ds / 2**20, df))

    client = make_client(url)
    try:
        sample(0)
        for i, text in enumerate(texts):
            style = styles[i % len(styles)]
            if i % 10 == 9:  # now and then a probe of the attention of the same kind of request
                api, args = "/query_point", (text, style, "(none)", 0.5, list(layers), i % 4, 60.0, 60.0)
            elif i % 5 == 4:  # and a layer toggle
                api, args = "/toggle", (text, style, "(none)", 0.5, list(layers[:1]))
            else:
                blend = styles[(i + 1) % len(styles)] if i % 3 == 0 else "(none)"
                api, args = "/generate", (text, style, blend, 0.5, list(layers))
            out = call(client, api, args)
            rep.latencies.append(out.seconds)
            rep.tracebacks += out.traceback
            if not out.ok:
                rep.errors += 1
                rep.problems.append(f"request {i} {api} {text!r}: {out.message[:200]}")
            if (i + 1) % every == 0 or i + 1 == requests:
                sample(i + 1)
                s = rep.samples[-1]
                log(f"  soak {i + 1}/{requests}: rss {s.rss_mb or 0:.0f} MB, cache {s.cache_mb:.1f} MB "
                    f"/ {s.cache_files} files, downloads {s.download_mb:.1f} MB / {s.download_files} files")
    finally:
        client.close()
    return rep


def print_soak(rep: SoakReport) -> None:
    lat = sorted(rep.latencies)
    print(f"\n(c) soak: {rep.requests} requests in a row, varying text (4 new characters each; "
          "every 5th a toggle, every 10th a query_point); errors "
          f"{rep.errors}, tracebacks {rep.tracebacks}, p50 {statistics.median(lat) if lat else float('nan'):.2f}s")
    print(f"{'done':>6} {'time s':>7} {'RSS MB':>8} {'cache MB':>9} {'files':>7} {'dirs':>6} "
          f"{'dl MB':>7} {'dl files':>8}")
    for s in rep.samples:
        rss = f"{s.rss_mb:.0f}" if s.rss_mb is not None else "n/a"
        print(f"{s.done:>6} {s.elapsed_s:>7.0f} {rss:>8} {s.cache_mb:>9.1f} {s.cache_files:>7} "
              f"{s.cache_dirs:>6} {s.download_mb:>7.1f} {s.download_files:>8}")
    g = rep.growth()
    rss = f"{g['rss_mb']:+.0f} MB" if g["rss_mb"] is not None else "n/a"
    print(f"growth: RSS {rss}; Gradio cache {g['cache_mb']:+.1f} MB / {g['cache_files']:+d} files; "
          f"download dir {g['download_mb']:+.1f} MB / {g['download_files']:+d} files")
    for p in rep.problems[:10]:
        print("  " + p)


# --- the server -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python app.py`` on a free port with its own GRADIO_TEMP_DIR and TMPDIR."""

    def __init__(self, keep: bool = False, startup_timeout: float = 600):
        self.root = Path(tempfile.mkdtemp(prefix="glyph-stress-"))
        self.cache_dir = self.root / "gradio"
        self.tmp_dir = self.root / "tmp"  # tempfile.gettempdir() of the app: DOWNLOAD_DIR lives here
        self.download_dir = self.tmp_dir / "glyph-attention-downloads"
        self.log_path = self.root / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.keep = keep
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def __enter__(self) -> Server:
        import httpx

        self.cache_dir.mkdir()
        self.tmp_dir.mkdir()
        env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1",
               "GRADIO_TEMP_DIR": str(self.cache_dir), "TMPDIR": str(self.tmp_dir),
               "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode} while starting; log:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(self.url + "config", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.__exit__(None, None, None)
        raise TimeoutError(f"the app did not answer on {self.url} within {self.startup_timeout:.0f}s")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def pid_listening_on(url: str) -> int | None:
    import psutil

    port = urlparse(url).port or 80
    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
                return c.pid
    except psutil.Error:
        pass
    return None


# --- main ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unet.stress", description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=50, help="requests per client")
    ap.add_argument("--soak", type=int, default=1000, help="requests in the soak (0: skip)")
    ap.add_argument("--url", help="a running app; default: start one here")
    ap.add_argument("--pid", type=int, help="with --url: the server's pid (default: who listens on the port)")
    ap.add_argument("--cache-dir", type=Path, help="with --url: its GRADIO_TEMP_DIR")
    ap.add_argument("--download-dir", type=Path, help="with --url: its download dir")
    ap.add_argument("--skip", action="append", default=[], choices=["matrix", "concurrency"])
    ap.add_argument("--quick", action="store_true", help="the 10,000-character case with few distinct ones")
    ap.add_argument("--rss-limit-mb", type=float, default=100.0)
    ap.add_argument("--keep", action="store_true", help="keep the started app's temp dir and log")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    def log(msg):
        print(msg, flush=True)

    server = None
    if args.url:
        url = args.url.rstrip("/") + "/"
        pid = args.pid or pid_listening_on(url)
        cache_dir = args.cache_dir or Path(os.environ.get("GRADIO_TEMP_DIR",
                                                          Path(tempfile.gettempdir()) / "gradio"))
        from unet.demo import DOWNLOAD_DIR

        download_dir = args.download_dir or DOWNLOAD_DIR
    else:
        server = Server(keep=args.keep)
        t = time.perf_counter()
        server.__enter__()
        url, pid, cache_dir, download_dir = server.url, server.pid, server.cache_dir, server.download_dir
        log(f"started the app (pid {pid}) on {url} in {time.perf_counter() - t:.0f}s; "
            f"GRADIO_TEMP_DIR={cache_dir}, downloads in {download_dir}")
    report: dict = {"url": url, "pid": pid, "rss_start_mb": (rss_bytes(pid) or 0) / 2**20}
    ok = True
    t_all = time.perf_counter()
    try:
        if "matrix" not in args.skip:
            log("(a) bad-input matrix ...")
            results = run_matrix(url, args.quick, log)
            print_matrix(results)
            report["matrix"] = [asdict(r) for r in results]
            ok &= all(r.passed for r in results)
        if "concurrency" not in args.skip and args.clients > 0 and args.requests > 0:
            log(f"(b) concurrency: {args.clients} x {args.requests} ...")
            rep = run_concurrency(url, args.clients, args.requests, log=log)
            print_concurrency(rep)
            report["concurrency"] = rep.summary()
            ok &= rep.errors == 0 and rep.mismatches == 0 and rep.tracebacks == 0
        if args.soak > 0:
            log(f"(c) soak: {args.soak} requests ...")
            soak = run_soak(url, args.soak, pid, cache_dir, download_dir, log=log)
            print_soak(soak)
            g = soak.growth()
            report["soak"] = {"samples": [asdict(s) for s in soak.samples], "growth": g,
                              "errors": soak.errors, "tracebacks": soak.tracebacks,
                              "p50_s": statistics.median(soak.latencies), "problems": soak.problems[:20]}
            rss_ok = g["rss_mb"] is None or g["rss_mb"] <= args.rss_limit_mb
            ok &= soak.errors == 0 and soak.tracebacks == 0 and rss_ok
        if server is not None:
            text = server.log_text()
            report["server_log"] = {"tracebacks": text.count("Traceback (most recent call last)"),
                                    "internal_errors": text.count("ERROR:glyph-attention:request failed")}
            print(f"\nserver log: {report['server_log']['tracebacks']} tracebacks (Gradio logs the "
                  f"validation errors it returns, e.g. out-of-range sliders), "
                  f"{report['server_log']['internal_errors']} internal errors caught by the app")
            if report["server_log"]["internal_errors"]:
                ok = False
        report["rss_end_mb"] = (rss_bytes(pid) or 0) / 2**20
        report["total_s"] = time.perf_counter() - t_all
        print(f"\nserver RSS {report['rss_start_mb']:.0f} MB at start, {report['rss_end_mb']:.0f} MB at the "
              f"end; total {report['total_s'] / 60:.1f} min; {'ALL TARGETS MET' if ok else 'TARGETS MISSED'}")
    finally:
        if args.json:
            args.json.write_text(json.dumps(report, indent=1, default=str, ensure_ascii=False))
        if server is not None:
            server.__exit__(None, None, None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
