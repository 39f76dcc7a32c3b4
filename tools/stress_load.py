"""Load checks of ``python -m tools.stress``: (b) concurrent clients against the same requests
served alone, and (c) a soak of requests in a row while the server's memory and temp dirs are sampled.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .appclient import REPO, Signature, app_choices, call, make_client, signature

TEXTS = ["永和九年", "天地玄黃", "春眠不覺曉", "字體風格遷移", "宇宙洪荒", "處處聞啼鳥", "龘靐齉爩", "歲在癸丑"]


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
    print("latency = submit to result as a client sees it, queueing included (the app runs a few "
          "generations at a time: its concurrency_limit)")
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
    tmp_mb: float
    tmp_files: int


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
                "tmp_mb": b.tmp_mb - a.tmp_mb,
                "tmp_files": b.tmp_files - a.tmp_files}


def run_soak(url: str, requests: int, pid: int | None, cache_dir: Path | None, tmp_dir: Path | None,
             every: int | None = None, log: Callable[[str], None] = print) -> SoakReport:
    styles, layers = app_choices(url)
    texts = soak_texts(requests)
    rep = SoakReport(requests)
    every = every or max(1, requests // 10)
    t0 = time.perf_counter()

    def sample(done):
        cs, cf, cd = dir_usage(cache_dir)
        ds, df, _ = dir_usage(tmp_dir)
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
                    f"/ {s.cache_files} files, app TMPDIR {s.tmp_mb:.1f} MB / {s.tmp_files} files")
    finally:
        client.close()
    return rep


def print_soak(rep: SoakReport) -> None:
    lat = sorted(rep.latencies)
    print(f"\n(c) soak: {rep.requests} requests in a row, varying text (4 new characters each; "
          "every 5th a toggle, every 10th a query_point); errors "
          f"{rep.errors}, tracebacks {rep.tracebacks}, p50 {statistics.median(lat) if lat else float('nan'):.2f}s")
    print(f"{'done':>6} {'time s':>7} {'RSS MB':>8} {'cache MB':>9} {'files':>7} {'dirs':>6} "
          f"{'tmp MB':>7} {'tmp files':>9}")
    for s in rep.samples:
        rss = f"{s.rss_mb:.0f}" if s.rss_mb is not None else "n/a"
        print(f"{s.done:>6} {s.elapsed_s:>7.0f} {rss:>8} {s.cache_mb:>9.1f} {s.cache_files:>7} "
              f"{s.cache_dirs:>6} {s.tmp_mb:>7.1f} {s.tmp_files:>9}")
    g = rep.growth()
    rss = f"{g['rss_mb']:+.0f} MB" if g["rss_mb"] is not None else "n/a"
    print(f"growth: RSS {rss}; Gradio cache {g['cache_mb']:+.1f} MB / {g['cache_files']:+d} files; "
          f"app TMPDIR {g['tmp_mb']:+.1f} MB / {g['tmp_files']:+d} files")
    for p in rep.problems[:10]:
        print("  " + p)
