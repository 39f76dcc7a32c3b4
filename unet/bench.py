"""Benchmarks: ``python -m unet.bench [--quick] [--out BENCHMARKS.md]``.

Prints markdown tables and writes them, with a description of the machine, to ``--out``. Every
table compares its rows side by side in one run: variants are interleaved round-robin (A B C A B C
...), so a burst of load from other processes hits all of them alike. On a shared machine absolute
times drift; the ratios are the numbers to read.

Tables:
  1. attention kernels (``SelfAttention.attend_explicit`` vs ``attend_fast`` and variants);
  2. generator forward for 1 / 8 / 32 glyphs (shipped 128 px, a 256 px config, attention off);
  3. ``Stylizer`` end-to-end for an 8-character request, and ``Generation.query_maps``;
  4. the Gradio API end-to-end (``/generate``, ``/toggle``, ``/query_point``) via ``gradio_client``;
  5. training throughput with / without attention (unet/train.py's step, both models in this
     process, steps alternating), and the peak memory of one 256 px training step with attention
     at 64x64 (a fresh process per row);
  6. throughput with 8 concurrent Gradio clients.

Memory is the process's peak resident set size (``VmHWM`` from ``/proc/self/status``, reset before the
measured call by writing ``5`` to ``/proc/self/clear_refs``, after ``malloc_trim(0)`` so freed heap
pages cannot hide an allocation) minus the resident size just before the call. That sees every
allocation torch makes on the CPU, including short-lived peaks a sampling thread would miss. Where
``clear_refs`` cannot be written, a thread samples ``psutil`` RSS every millisecond instead; the
output says which was used.

"Candidate" rows run bench-local attention variants (multi-head split, zero-padded single head,
explicit) by patching ``SelfAttention.attend_fast`` for the duration of the call only; the package
itself is not changed. The engine runs as app.py builds it (``GLYPH_PRECISION``, default 'auto').

``python -m unet.bench --only 1,3`` runs a subset of the tables.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as _dt
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .attention import SelfAttention
from .hooks import attention_hooks
from .model import UnetGenerator, attention_layers
from .stress import Server

REPO = Path(__file__).resolve().parent.parent
TEXT8 = "永和九年歲在癸丑"  # the 8-character request of tables 3, 4 and 6
BARE = "bare generator forward (pre-rendered glyphs)"


class TextPool:
    """Distinct 8-character requests (TEXT8 first), so no request repeats within a run: a cache of
    finished generations in the app or the engine cannot turn a timed generation into a lookup."""

    def __init__(self, st):
        pool = (st.training_chars or "") + (st.heldout_chars or "")
        self.st, self.pool, self.next_at, self.used = st, pool, 0, {TEXT8}
        self.lock = threading.Lock()

    def take(self) -> str:
        with self.lock:
            while self.next_at + 8 <= len(self.pool):
                text = self.pool[self.next_at:self.next_at + 8]
                self.next_at += 8
                if text not in self.used and len(self.st.prepare(text)[0]) == 8:
                    self.used.add(text)
                    self.st.render_sources(list(text))  # source glyphs cached, as for a warm app
                    return text
        raise RuntimeError("text pool exhausted")
GiB = 1024 ** 3
MiB = 1024 ** 2
MAP_LIMIT = 4 * GiB  # a path that materialises N x N maps runs only while one map is at most this
_ORIGINAL_FAST = SelfAttention.attend_fast

# --- targets stated next to the figures -------------------------------------------------------
TARGET_GENERATE_MS = 250
TARGET_TOGGLE_MS = 150
TARGET_QUERY_MS = 100
TARGET_E2E_RATIO = 2.0
TARGET_FAST_SPEEDUP = 2.0
TARGET_TRAIN_RATIO = 1.3
TARGET_256_GIB = 8.0
LINEAR_BELOW = 8  # 32x32 -> 64x64 peak-memory growth: linear ~4x, quadratic ~16x


# =============================================================================================
# measurement helpers
# =============================================================================================
def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as f:
        m = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024 if m else 0


def _can_reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_bytes("VmHWM") > 0
    except OSError:
        return False


try:
    _LIBC = ctypes.CDLL("libc.so.6")
except OSError:  # pragma: no cover - not glibc
    _LIBC = None
RESET_HWM = _can_reset_hwm()
MEMORY_METHOD = ("peak RSS: VmHWM reset via /proc/self/clear_refs (after malloc_trim), minus RSS "
                 "before the call" if RESET_HWM else
                 "peak RSS: psutil RSS sampled every 1 ms in a thread, minus RSS before the call")


def _trim() -> None:
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class PeakMemory:
    """``with PeakMemory() as pm: ...``; then ``pm.delta`` (bytes above the RSS at entry) and
    ``pm.peak`` (the process's peak RSS inside the block)."""

    def __enter__(self):
        _trim()
        self.base = _status_bytes("VmRSS")
        if RESET_HWM:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        else:
            import psutil

            proc, self._stop, self._peak = psutil.Process(), threading.Event(), self.base

            def sample():
                while not self._stop.is_set():
                    self._peak = max(self._peak, proc.memory_info().rss)
                    time.sleep(0.001)

            self._thread = threading.Thread(target=sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if RESET_HWM:
            self.peak = max(_status_bytes("VmHWM"), self.base)
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._peak, _status_bytes("VmRSS"))
        self.delta = self.peak - self.base
        return False


def available_bytes() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return _meminfo("MemAvailable")


def _meminfo(key: str) -> int:
    with open("/proc/meminfo") as f:
        m = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024 if m else 0


def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


class Timed(float):
    """Return one from a benchmarked function to report its own time (excluding setup)."""


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    r = fn()
    elapsed = time.perf_counter() - t
    return float(r) if isinstance(r, Timed) else elapsed


def interleaved(fns: dict[str, Callable[[], object]], reps: int, budget_s: float,
                cold_threshold_s: float = 2.0, memory: bool = False):
    """Time every function ``reps`` times, round-robin, after one warm-up call each.

    A warm-up call slower than ``cold_threshold_s`` is kept as a sample (big cases cannot afford a
    discarded call). Rounds stop early once ``budget_s`` is spent and every function has a sample.
    With ``memory``, also returns each function's peak memory (``PeakMemory.delta``), measured on
    the warm-up call when that was slow, else on one extra call at the end.
    """
    samples: dict[str, list[float]] = {k: [] for k in fns}
    peaks: dict[str, int] = {}
    start = time.perf_counter()
    for name, fn in fns.items():
        with PeakMemory() if memory else contextlib.nullcontext() as pm:
            t = timed(fn)
        if t > cold_threshold_s:
            samples[name].append(t)
            if memory:
                peaks[name] = pm.delta
    while True:
        todo = [k for k in fns if len(samples[k]) < reps]
        if not todo:
            break
        if time.perf_counter() - start > budget_s and all(samples[k] for k in fns):
            break
        for name in todo:
            samples[name].append(timed(fns[name]))
    if not memory:
        return samples
    for name, fn in fns.items():
        if name not in peaks:
            with PeakMemory() as pm:
                fn()
            peaks[name] = pm.delta
    return samples, peaks


def p50(xs) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def p95(xs) -> float:
    return float(np.percentile(np.asarray(xs), 95)) if xs else float("nan")


def ms(x: float, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    x *= 1e3
    return f"{x:,.0f}" if x >= 100 else f"{x:.{digits}f}"


def mib(b: float | None) -> str:
    if b is None or not math.isfinite(b):
        return "–"
    return f"{b / GiB:.2f} GiB" if b >= GiB else f"{b / MiB:,.0f} MiB" if b >= 10 * MiB else f"{b / MiB:.1f} MiB"


def ratio(a: float, b: float) -> str:
    if not (a and b) or not (math.isfinite(a) and math.isfinite(b)):
        return "–"
    return f"{a / b:.2f}×"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# =============================================================================================
# attention variants
# =============================================================================================
def multi_head_split(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """v split into C/d heads of width d sharing one q/k (all head dims equal, flash-eligible),
    with contiguous q/k/v; what ``attend_fast`` did at commit 37889e3."""
    b, c, h, w = x.shape
    q, k, v = (t.contiguous() for t in self.projections(x))
    d = self.qk_channels
    if not (c % d == 0 and c > d):
        return single_head_padded(self, x)
    heads = c // d
    qh = q.unsqueeze(1).expand(b, heads, -1, d)
    kh = k.unsqueeze(1).expand(b, heads, -1, d)
    vh = v.reshape(b, -1, heads, d).transpose(1, 2)
    out = F.scaled_dot_product_attention(qh, kh, vh, scale=1.0)  # (B, heads, N, d)
    return out.transpose(1, 2).reshape(b, -1, c).transpose(1, 2).reshape(b, c, h, w)


def single_head(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """One SDPA head: q/k of width d, v of width C (the CPU flash kernel needs equal widths)."""
    b, c, h, w = x.shape
    q, k, v = (t.contiguous() for t in self.projections(x))
    return F.scaled_dot_product_attention(q, k, v, scale=1.0).transpose(1, 2).reshape(b, c, h, w)


def single_head_padded(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """One SDPA head with q/k zero-padded from d to C channels: the same logits, flash-eligible,
    one softmax over N×N logits instead of C/d of them."""
    b, c, h, w = x.shape
    q, k, v = self.projections(x)
    d = self.qk_channels
    q, k = F.pad(q, (0, c - d)), F.pad(k, (0, c - d))
    out = F.scaled_dot_product_attention(q[:, None], k[:, None], v.contiguous()[:, None], scale=1.0)[:, 0]
    return out.transpose(1, 2).reshape(b, c, h, w)


CHUNK = 1024


def chunked_explicit(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The explicit maths (bmm, softmax, bmm) over blocks of CHUNK queries: memory B×CHUNK×N."""
    b, c, h, w = x.shape
    q, k, v = self.projections(x)
    kt = k.transpose(1, 2)
    out = torch.cat([torch.bmm(torch.softmax(torch.bmm(q[:, i:i + CHUNK], kt), dim=-1), v)
                     for i in range(0, q.shape[1], CHUNK)], 1)
    return out.transpose(1, 2).reshape(b, c, h, w)


def explicit(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    return self.attend_explicit(x)[0]


def shipped_fast(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    return _ORIGINAL_FAST(self, x)


def _split_heads(c: int, d: int) -> int:
    return c // d if c % d == 0 and c > d else 1


EXPLICIT = "explicit (bmm, returns map)"
SHIPPED = "attend_fast (shipped)"
MULTI = "multi-head split: C/d heads of width d sharing q/k"
PADDED = "single-head SDPA, q/k zero-padded to C"
# name -> (function, kind: "bmm" full map / "chunk" / "sdpa", heads on SDPA's math fallback f(c, d))
VARIANTS: dict[str, tuple[Callable, str, Callable[[int, int], int]]] = {
    EXPLICIT: (explicit, "bmm", lambda c, d: 1),
    SHIPPED: (shipped_fast, "sdpa", _split_heads),
    MULTI: (multi_head_split, "sdpa", _split_heads),
    "single-head SDPA (q/k d wide, v C wide)": (single_head, "sdpa", lambda c, d: 1),
    PADDED: (single_head_padded, "sdpa", lambda c, d: 1),
    f"explicit in {CHUNK}-query chunks": (chunked_explicit, "chunk", lambda c, d: 1),
}
# candidates for attend_fast tried in the generator / Stylizer / training tables (patched per call)
CANDIDATES = {"multihead": ("multi-head split SDPA", multi_head_split),
              "padded": ("single-head padded SDPA", single_head_padded),
              "explicit": ("explicit bmm path", explicit)}


def sdpa_kernel_of(fn: Callable, channels: int) -> str:
    """'flash' when ``fn`` runs with only the flash backend allowed, else 'math (N×N map)'."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    m = SelfAttention(channels)
    x = torch.randn(1, channels, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.inference_mode(), sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                fn(m, x)
            return "flash"
        except RuntimeError:
            return "math (N×N map)"


@contextlib.contextmanager
def patched_fast(fn: Callable | None):
    """Temporarily replace ``SelfAttention.attend_fast`` (None: leave it)."""
    if fn is None:
        yield
        return
    SelfAttention.attend_fast = fn
    try:
        yield
    finally:
        SelfAttention.attend_fast = _ORIGINAL_FAST


def materialised_bytes(model: UnetGenerator, batch: int) -> int:
    """Largest N×N attention tensor the model's forward would create with the current attend_fast."""
    worst = 0
    for name, layer in attention_layers(model).items():
        n = int(name.split("x")[0]) ** 2
        c, d = layer.in_channels, layer.qk_channels
        if sdpa_kernel_of(SelfAttention.attend_fast, c) != "flash":
            heads = c // d if c % d == 0 and c > d else 1
            worst = max(worst, batch * heads * n * n * 4)
    return worst


# =============================================================================================
# report
# =============================================================================================
class Report:
    def __init__(self, out: Path | None):
        self.out = out
        self.parts: dict[float, str] = {}

    def add(self, text: str, key: float, started: float | None = None) -> None:
        """Print now; in the file, parts are ordered by ``key`` (table number)."""
        if started is not None:
            text += f" This table took {time.perf_counter() - started:.0f} s."
        print(text + "\n", flush=True)
        self.parts[key] = text
        self.write()

    def write(self) -> None:
        if self.out:
            body = "\n\n".join(self.parts[k] for k in sorted(self.parts))
            self.out.write_text(body + "\n", encoding="utf-8")


def _amx() -> str:
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return "yes" if check and check() else "no"
    except Exception:  # noqa: BLE001 - private API
        return "unknown"


def machine_description(args, st, precision: str) -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    try:
        import gradio

        gradio_version = gradio.__version__
    except ImportError:
        gradio_version = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
        changed = [line[3:] for line in dirty if line[3:] != "BENCHMARKS.md"]
        commit += f" + uncommitted changes to {', '.join(changed)}" if changed else ""
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    rows = [
        ["date", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")],
        ["command", "`python -m unet.bench" + (" --quick" if args.quick else "") + "`"],
        ["commit", commit],
        ["CPU", cpu],
        ["cores", f"{os.cpu_count()} logical, {affinity} usable by this process"],
        ["memory", f"{_meminfo('MemTotal') / GiB:.1f} GiB total, {available_bytes() / GiB:.1f} GiB available at start"],
        ["torch", f"{torch.__version__} (intra-op threads {torch.get_num_threads()}, inter-op "
                  f"{torch.get_num_interop_threads()}, MKL {torch.backends.mkl.is_available()}, "
                  f"oneDNN {torch.backends.mkldnn.is_available()})"],
        ["python / gradio", f"{platform.python_version()} / {gradio_version}"],
        ["load average at start", loadavg() + " (other people's jobs share this machine)"],
        ["memory method", MEMORY_METHOD],
        ["engine precision", f"`Stylizer(precision={precision!r})` as app.py builds it → bf16 autocast "
                             f"{'on' if app_bf16(st) else 'off'} (AMX: {_amx()})"],
    ]
    return "# Benchmarks\n\n" + md_table(["", ""], rows) + (
        "\n\nEvery table's rows were measured side by side in this one run (interleaved round-robin); "
        "the machine is shared, so read ratios rather than absolute times. p50 = median, "
        "p95 = 95th percentile; n = samples per row.")


# =============================================================================================
# table 1: attention kernels
# =============================================================================================
def table_attention(rep: Report, quick: bool) -> dict:
    batch = 8
    # (resolution, channels, batch): channels as in the models (128 px: 32x32=128, 16x16=256;
    # 256 px: 64x64=128, 128x128=64)
    cases = [(16, 256, batch), (32, 128, batch), (64, 128, batch)]
    if not quick:
        cases.append((128, 64, 1))  # batch 8 would take ~40 s a call on 2 cores
    reps = {16: 15, 32: 9, 64: 2, 128: 1} if not quick else {16: 3, 32: 2, 64: 1}
    budget = {16: 8, 32: 15, 64: 40, 128: 30} if not quick else {16: 3, 32: 4, 64: 10}
    kernels = {}
    for name, (fn, kind, _) in VARIANTS.items():
        for _, c, _ in cases:
            kernels[(name, c)] = {"bmm": "bmm + softmax (full N×N map)",
                                  "chunk": f"bmm + softmax ({CHUNK}×N blocks)"}.get(kind) or sdpa_kernel_of(fn, c)
    rows, results = [], {}
    load0, t_table = loadavg(), time.perf_counter()
    torch.manual_seed(0)
    for res, c, b in cases:
        n = res * res
        m = SelfAttention(c)
        with torch.no_grad():
            m.gamma.fill_(0.5)
        d = m.qk_channels
        x = torch.randn(b, c, res, res)
        for mode in ("fwd", "fwd+bwd"):
            fns, mapsize, skipped = {}, {}, {}
            for name, (fn, kind, heads) in VARIANTS.items():
                kern = kernels[(name, c)]
                if kind == "chunk":
                    size, full = b * min(CHUNK, n) * n * 4, False
                elif kern == "flash":
                    size, full = 0, False
                else:
                    size, full = b * heads(c, d) * n * n * 4, True
                mapsize[name] = size
                limit = MAP_LIMIT if mode == "fwd" else MAP_LIMIT // 4
                if full and size > limit:
                    skipped[name] = f"skipped: {mib(size)} map"
                elif full and 2.5 * size > available_bytes():
                    skipped[name] = "skipped: not enough free memory"
                elif quick and (name not in (EXPLICIT, SHIPPED, PADDED)
                                or (res == 64 and (mode == "fwd+bwd" or name not in (EXPLICIT, SHIPPED)))):
                    skipped[name] = "skipped in --quick"
                elif res == 128 and mode == "fwd+bwd":
                    skipped[name] = "skipped (time: ~3× the forward)"
                elif res == 128 and full and name != EXPLICIT:
                    skipped[name] = "skipped (same maths as explicit)"
                if name in skipped:
                    continue
                if mode == "fwd":
                    def call(fn=fn, m=m, x=x):
                        with torch.inference_mode():
                            return fn(m, x)
                else:
                    def call(fn=fn, m=m, x=x):
                        m.zero_grad(set_to_none=True)
                        xx = x.detach().requires_grad_(True)
                        (m.gamma * fn(m, xx) + xx).sum().backward()
                        return xx.grad
                fns[name] = call
            diffs = {}  # correctness vs explicit (forward, up to 32x32) from one extra call
            if mode == "fwd" and res <= 32:
                with torch.inference_mode():
                    ref = m.attend_explicit(x)[0]
                    for name, (fn, _, _) in VARIANTS.items():
                        if name in fns and name != EXPLICIT:
                            diffs[name] = float((fn(m, x) - ref).abs().max())
                    del ref
            samples, peaks = interleaved(fns, reps[res], budget[res], memory=True)
            _trim()
            base = p50(samples.get(EXPLICIT, []))
            for name in VARIANTS:
                key = (res, mode, name)
                if name in fns:
                    t = p50(samples[name])
                    results[key] = {"p50": t, "peak": peaks[name], "n": len(samples[name])}
                    rows.append([f"{res}×{res}", c, b, mode, name, kernels[(name, c)], ms(t),
                                 len(samples[name]), mib(peaks[name]),
                                 mib(mapsize[name]) if mapsize[name] else "none",
                                 ratio(base, t) if math.isfinite(base) else "–",
                                 f"{diffs[name]:.1e}" if name in diffs else ""])
                else:
                    rows.append([f"{res}×{res}", c, b, mode, name, kernels[(name, c)], skipped[name],
                                 "", "", mib(mapsize[name]) if mapsize[name] else "none", "", ""])
    header = ["map", "C", "batch", "pass", "path", "kernel actually used", "p50 ms", "n",
              "peak mem", "largest N-sized tensor (theory)", "speed vs explicit", "max |Δ| vs explicit"]
    text = ["## 1. Attention kernels", md_table(header, rows)]

    def get(res, mode, name, field="p50"):
        return results.get((res, mode, name), {}).get(field, float("nan"))

    lines = []
    for name in (SHIPPED, MULTI, PADDED, f"explicit in {CHUNK}-query chunks"):
        sp = [get(64, md, EXPLICIT) / get(64, md, name) for md in ("fwd", "fwd+bwd")]
        grow = get(64, "fwd", name, "peak") / get(32, "fwd", name, "peak")
        known = [s for s in sp if math.isfinite(s)]
        fast_ok = all(s >= TARGET_FAST_SPEEDUP for s in known) if known else None
        lines.append(f"| {name} | " + " / ".join(f"{s:.2f}×" if math.isfinite(s) else "–" for s in sp)
                     + f" ({verdict(fast_ok)}) | {grow:.1f}× ({verdict(grow < LINEAR_BELOW)}) |")
    ex_grow = get(64, "fwd", EXPLICIT, "peak") / get(32, "fwd", EXPLICIT, "peak")
    text.append(
        f"Target: fast attention ≥ {TARGET_FAST_SPEEDUP:.0f}× faster than explicit at 64×64, with memory "
        "linear in H·W (32×32 → 64×64 is 4× the positions, both at C = 128: linear growth ≈ 4×, "
        f"quadratic ≈ 16×, so growth below {LINEAR_BELOW}× counts as linear; explicit grows "
        f"{ex_grow:.1f}×).\n\n"
        "| path at 64×64, batch 8 | speed-up vs explicit (fwd / fwd+bwd), target ≥ 2× | peak-mem growth "
        f"32→64, linear if < {LINEAR_BELOW}× |\n"
        "|---|---|---|\n" + "\n".join(lines))
    text.append(
        f"Peak memory: {MEMORY_METHOD} (for calls over 2 s, measured on the first call). 'Largest "
        "N-sized tensor' is the theoretical size of the biggest attention-logit tensor a path builds "
        "(batch × heads × rows × N × 4 bytes; 'none' for the flash kernel, which works in blocks). A "
        f"path that builds the full map runs only while it is ≤ {mib(MAP_LIMIT)} (forward) / "
        f"{mib(MAP_LIMIT // 4)} (forward+backward, which keeps several). Multi-head split vs single "
        "head (the same maths; rows 'multi-head split' and 'single-head'): splitting v into C/d "
        "heads of width d that share q/k makes every head dim d, which the CPU flash kernel "
        "accepts; one SDPA head with q/k of width d and v of width C is not flash-eligible on CPU "
        "(it falls back to the math kernel, which forms the map); zero-padding q/k to C makes the "
        "single head eligible with identical logits, and it computes one N×N softmax instead of "
        f"C/d. 128×128 runs at batch 1, forward only. Load average during "
        f"the table: {load0} → {loadavg()}.")
    rep.add("\n\n".join(text), 1, t_table)
    return results


# =============================================================================================
# table 2: generator forward
# =============================================================================================
@contextlib.contextmanager
def num_threads(n: int | None):
    """Temporarily run torch with ``n`` intra-op threads (None: leave it)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def app_stylizer():
    """The Stylizer as app.py builds it (precision from GLYPH_PRECISION, default 'auto')."""
    from .inference import Stylizer

    precision = os.environ.get("GLYPH_PRECISION", "auto")
    try:
        st = Stylizer.from_pretrained(device="cpu", precision=precision)
    except TypeError:  # an engine without the precision option
        st, precision = Stylizer.from_pretrained(device="cpu"), "float32"
    return st, precision


def app_bf16(st) -> bool:
    return bool(getattr(st, "bf16", False))


@contextlib.contextmanager
def stylizer_precision(st, bf16: bool | None):
    """Temporarily switch the Stylizer's bf16 autocast (None: leave it)."""
    if bf16 is None or not hasattr(st, "bf16"):
        yield
        return
    old, st.bf16 = st.bf16, bf16
    try:
        yield
    finally:
        st.bf16 = old


def forward_like_app(st, src, style_vec, bf16: bool | None = None):
    """The generator forward exactly as ``Stylizer.generate`` runs it (autocast as configured)."""
    on = app_bf16(st) if bf16 is None else bf16
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=on):
        return st.model(src, style_vec).float()


def map_bytes_with(model: UnetGenerator, batch: int, patch: Callable | None) -> int:
    if patch is explicit:
        return max((batch * int(n.split("x")[0]) ** 4 * 4 for n in attention_layers(model)), default=0)
    if patch in (single_head_padded, multi_head_split):
        return 0
    return materialised_bytes(model, batch)


def table_generator(rep: Report, quick: bool, shipped: UnetGenerator) -> dict:
    torch.manual_seed(0)
    big = UnetGenerator(1, 1, 8, ngf=64, max_mult=4, use_attention={64, 32, 16}, image_size=256,
                        num_styles=3).eval()
    batches = [1, 8, 32] if not quick else [1, 8]
    reps = {1: 9, 8: 5, 32: 2} if not quick else {1: 3, 8: 1}
    budget = {1: 10, 8: 30, 32: 20} if not quick else {1: 3, 8: 5}
    # (label, model, attend_fast patch, attention off, threads, in --quick, bf16 autocast)
    configs = [
        ("shipped 128 px, attention 32,16", shipped, None, False, None, True, False),
        ("shipped, attention off (hooks)", shipped, None, True, None, True, False),
        ("shipped, 1 intra-op thread", shipped, None, False, 1, True, False),
        ("shipped, bf16 autocast", shipped, None, False, None, True, True),
        ("shipped + multi-head split SDPA (candidate)", shipped, multi_head_split, False, None, False, False),
        ("shipped + single-head padded SDPA (candidate)", shipped, single_head_padded, False, None, False, False),
        ("shipped + explicit bmm attention (candidate)", shipped, explicit, False, None, False, False),
        ("256 px, attention 64,32,16 (random weights)", big, None, False, None, True, False),
        ("256 px, attention off (hooks)", big, None, True, None, False, False),
        ("256 px, bf16 autocast", big, None, False, None, False, True),
        ("256 px + multi-head split SDPA (candidate)", big, multi_head_split, False, None, False, False),
    ]
    if quick:
        configs = [c for c in configs if c[5]]
    results: dict = {}
    skipped: dict[tuple[str, int], str] = {}
    load0, t_table = loadavg(), time.perf_counter()
    for b in batches:
        fns = {}
        for label, model, patch, off, threads, _, bf16 in configs:
            size = model.config.image_size
            need = 0 if off else map_bytes_with(model, b, patch)
            if need > MAP_LIMIT or 2.5 * need > available_bytes():
                skipped[(label, b)] = f"skipped: {mib(need)} map"
                continue
            if model is big and b == 32 and (patch is not None or bf16):
                skipped[(label, b)] = "skipped (time)"
                continue
            if quick and model is big and b > 1:
                skipped[(label, b)] = "skipped in --quick"
                continue
            x = torch.rand(b, 1, size, size) * 2 - 1
            style = torch.tensor([1.0, 0.0, 0.0])
            names = list(attention_layers(model)) if off else []

            def call(model=model, x=x, style=style, patch=patch, names=names, threads=threads, bf16=bf16):
                with torch.inference_mode(), patched_fast(patch), attention_hooks(model, names), \
                        num_threads(threads), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    return model(x, style).float()
            fns[label] = call
        samples = interleaved(fns, reps[b], budget[b])
        for label, smp in samples.items():
            results[(label, b)] = p50(smp)
            results[(label, b, "n")] = len(smp)
        _trim()
    header = ["generator (eval, inference_mode)"] + [f"batch {b}: p50 ms (ms/glyph), n" for b in batches] + [
        "÷ attention off (same model)", "÷ shipped (same batch)"]
    rows = []
    for label, model, _patch, off, _, _, _ in configs:
        row = [label]
        for b in batches:
            if (label, b) in results:
                t = results[(label, b)]
                row.append(f"{ms(t)} ({ms(t / b)}), {results[(label, b, 'n')]}")
            else:
                row.append(skipped.get((label, b), "–"))
        off_label = next((lb for lb, mm, _, o, *_ in configs if mm is model and o), None)
        ref_label = next(lb for lb, mm, p, o, th, _, bf in configs
                         if mm is model and p is None and not o and th is None and not bf)

        def ratios(other, label=label):
            if other is None:
                return "–"
            return ", ".join(f"b{b} {ratio(results.get((label, b), math.nan), results.get((other, b), math.nan))}"
                             for b in batches if (label, b) in results and (other, b) in results)
        row.append(ratios(off_label) if not off else "")
        row.append(ratios(ref_label) if label != ref_label else "")
        rows.append(row)
    rep.add("## 2. Generator forward\n\n" + md_table(header, rows) + (
        "\n\nAttention off = every SelfAttention bypassed through `unet.hooks.attention_hooks` (what "
        "a layer toggle does). 'Candidate' rows patch `SelfAttention.attend_fast` for the call "
        "only (same results up to float rounding, see table 1). 'bf16 autocast' runs the forward under "
        "`torch.autocast('cpu', dtype=torch.bfloat16)` (what the app does with precision 'auto' on a "
        "CPU with AMX; outputs differ slightly from fp32). '1 intra-op thread' runs "
        f"`torch.set_num_threads(1)` around the call (default here: {torch.get_num_threads()}). "
        f"Load average during the table: {load0} → {loadavg()}."), 2, t_table)
    return results


# =============================================================================================
# table 3: Stylizer end-to-end
# =============================================================================================
def table_stylizer(rep: Report, quick: bool, st) -> dict:
    from .demo import DemoService
    from .visualize import tensor_to_image

    svc = DemoService(st)
    reps = 20 if not quick else 4
    chars, _, _ = st.prepare(TEXT8)
    assert len(chars) == 8, chars
    src = st.render_sources(chars)
    style_vec = torch.tensor([1.0] + [0.0] * (len(st.styles) - 1))

    def bare(threads=None, bf16=None):
        def call():
            with num_threads(threads):
                return forward_like_app(st, src, style_vec, bf16)
        return call

    pool = TextPool(st)

    def gen(capture, with_target=True, patch=None, threads=None, bf16=None):
        def call():
            text = pool.take()  # outside the timer (its source glyphs are rendered there)
            t = time.perf_counter()
            with patched_fast(patch), num_threads(threads), stylizer_precision(st, bf16):
                st.generate(text, style=st.styles[0], capture=capture, with_target=with_target)
            return Timed(time.perf_counter() - t)
        return call

    fns = {BARE: bare()}
    if app_bf16(st):
        fns["bare forward, fp32 (no bf16 autocast)"] = bare(bf16=False)
    fns.update({
        "bare forward, 1 intra-op thread": bare(1),
        "Stylizer.generate(capture=False)": gen(False),
        "Stylizer.generate(capture=True)": gen(True),
        "generate(capture=True, with_target=False)": gen(True, False),
        "generate(capture=True), 1 intra-op thread": gen(True, threads=1),
    })
    if app_bf16(st):
        fns["generate(capture=True), fp32 (no bf16 autocast)"] = gen(True, bf16=False)
    # pieces of generate besides the forward
    out = forward_like_app(st, src, style_vec)
    font = st.target_font(st.styles[0])
    fns["  part: prepare + render_sources (cache hit)"] = lambda: st.render_sources(st.prepare(TEXT8)[0])
    fns["  part: tensor_to_image × 16 (source + generated)"] = lambda: [
        tensor_to_image(t) for t in torch.cat([src, out])]
    fns["  part: render the real target glyphs × 8 (not cached)"] = lambda: [
        font.render(c, st.glyph_size) if font and font.draws(c) else None for c in chars]
    load0, t_table = loadavg(), time.perf_counter()
    samples = interleaved(fns, reps, 60 if not quick else 10)
    g = st.generate(TEXT8, style=st.styles[0], capture=True)
    rng = np.random.default_rng(0)
    pts = [(int(rng.integers(8)), float(rng.uniform(0, 128)), float(rng.uniform(0, 128)))
           for _ in range(200)]
    q_samples, panel_samples, out_samples = [], [], []
    for i, x, y in pts[: 100 if not quick else 30]:
        q_samples.append(timed(lambda i=i, x=x, y=y: g.query_maps(i, x, y)))
    for i, x, y in pts[: 15 if not quick else 5]:
        panel_samples.append(timed(lambda i=i, x=x, y=y: (svc.attention_panel(g, i, (x, y)),
                                            svc.glyph_for_click(g, i, (x, y)))))

    def outputs():  # what app.generate's outputs_for does besides the forward
        sheet = svc.sheet(g)
        svc.attention_panel(g, 0, (64.0, 64.0))
        svc.gallery(g), svc.status(g), svc.char_choices(g), svc.glyph_for_click(g, 0, (64.0, 64.0))
        svc.sheet_file(sheet), svc.zip_file(g)
    for _ in range(8 if not quick else 3):
        out_samples.append(timed(outputs))
    samples["Generation.query_maps (move the query point, no forward)"] = q_samples
    samples["click-handler work: attention_panel + probe image"] = panel_samples
    samples["/generate output work: sheet, panel, PNG + ZIP files"] = out_samples
    bare_p50 = p50(samples[BARE])
    rows = []
    for name, s in samples.items():
        target = ""
        if name == "Stylizer.generate(capture=True)":
            target = (f"the whole 8-char request has {TARGET_GENERATE_MS} ms (table 4); this part alone: "
                      f"{verdict(p50(s) * 1e3 <= TARGET_GENERATE_MS)}")
        if name.startswith("Generation.query_maps"):
            target = (f"a click has {TARGET_QUERY_MS} ms; this part alone: "
                      f"{verdict(p50(s) * 1e3 <= TARGET_QUERY_MS)}")
        rows.append([name, ms(p50(s), 2), ms(p95(s), 2), len(s), ratio(p50(s), bare_p50), target])
    rep.add("## 3. Stylizer end-to-end, 8 characters (" + TEXT8 + ")\n\n" + md_table(
        ["step", "p50 ms", "p95 ms", "n", "÷ bare forward", "target"], rows) + (
        "\n\n`generate` = validate, split text, render sources (cached after the first call), one "
        "batched forward, hooks, PIL conversion, and (with_target) rendering the real target font. "
        "capture=True adds, per attention layer, q/k copies and the mean-received map (one N×N map "
        "per character, built and reduced one at a time). `query_maps` recomputes one softmax row per "
        "layer from the stored q/k, so moving the query point needs no forward. 'part' rows time "
        "pieces of `generate` on their own; the last two rows are the DemoService work the Gradio "
        "handlers add on top of `generate`. '1 intra-op thread' rows run `torch.set_num_threads(1)` "
        "around the call: on a 2-core machine that other processes also load, torch's 2-thread "
        "parallel regions wait on a descheduled thread, so this ratio swings with the load. Load average during "
        f"the table: {load0} → {loadavg()}."), 3, t_table)
    return {k: (p50(v), p95(v)) for k, v in samples.items()}


# =============================================================================================
# table 4 + 6: Gradio API
# =============================================================================================
def api_args(st, layers, text=TEXT8):
    return (text, st.styles[0], "(none)", 0.5, layers)


def table_gradio(rep: Report, quick: bool, st, server: Server, startup_s: float) -> dict:
    from gradio_client import Client

    all_on, one_off = st.layer_names, st.layer_names[:1]
    rounds = 10 if not quick else 2
    chars = st.prepare(TEXT8)[0]
    src = st.render_sources(chars)
    style_vec = torch.tensor([1.0] + [0.0] * (len(st.styles) - 1))

    def bare(threads=None):
        def call():
            with num_threads(threads):
                return forward_like_app(st, src, style_vec)
        return call

    # the default behaviour: result files are downloaded (here into the server's temporary dir)
    c_dl = Client(server.url, verbose=False, download_files=str(server.root / "client"))
    c_nodl = Client(server.url, verbose=False, download_files=False)
    pool = TextPool(st)
    cur = {}  # this round's texts: a new one per client, so each /generate is a first request

    def api(client, key, layers, endpoint, *extra):
        return lambda: client.predict(*api_args(st, layers, cur[key]), *extra, api_name=endpoint)

    calls = {
        BARE: bare(),
        "bare forward, 1 intra-op thread": bare(1),
        "/generate": api(c_dl, "dl", all_on, "/generate"),
        "/toggle (16x16 off)": api(c_dl, "dl", one_off, "/toggle"),
        "/query_point": api(c_dl, "dl", all_on, "/query_point", 0, 64.0, 64.0),
        "/generate, download_files=False": api(c_nodl, "nodl", all_on, "/generate"),
        "/toggle (16x16 off), download_files=False": api(c_nodl, "nodl", one_off, "/toggle"),
    }
    load0, t_table = loadavg(), time.perf_counter()
    cur.update(dl=pool.take(), nodl=pool.take())
    for fn in calls.values():  # warm-up: caches, first PNG encodes, HTTP connections
        fn()
    samples = {k: [] for k in calls}
    for _ in range(rounds):
        cur.update(dl=pool.take(), nodl=pool.take())
        for k, fn in calls.items():  # bare, then generate -> toggle -> query as a user would
            samples[k].append(timed(fn))
    targets = {"/generate": TARGET_GENERATE_MS, "/toggle (16x16 off)": TARGET_TOGGLE_MS,
               "/query_point": TARGET_QUERY_MS, "/generate, download_files=False": TARGET_GENERATE_MS,
               "/toggle (16x16 off), download_files=False": TARGET_TOGGLE_MS}
    bare_p50 = p50(samples[BARE])
    rows = []
    for k, smp in samples.items():
        r = p50(smp) / bare_p50
        t = targets.get(k)
        rows.append([k, ms(p50(smp)), ms(p95(smp)), len(smp), f"{r:.1f}×",
                     f"p50 ≤ {t} ms: {verdict(p50(smp) * 1e3 <= t)}; ≤ {TARGET_E2E_RATIO:.0f}× bare: "
                     f"{verdict(r <= TARGET_E2E_RATIO)}" if t else ""])
    rep.add("## 4. Gradio API end-to-end, 8 characters\n\n" + md_table(
        ["endpoint (gradio_client, one session)", "p50 ms", "p95 ms", "n", "÷ bare forward", "targets"], rows) + (
        f"\n\nThe app runs as `python app.py` in a subprocess (started in {startup_s:.1f} s); the "
        "client is in the benchmark process on the same 2 cores. Each round times the bare forward "
        "(8 pre-rendered glyphs, in the benchmark process while the server idles, with this "
        f"process's {torch.get_num_threads()} intra-op threads and with 1; '÷ bare' uses the first), "
        "then /generate "
        "(all layers on), /toggle (first layer off; the all-on generation is reused from session "
        "state for the difference view, so one forward), /query_point. By default `gradio_client` "
        "downloads every file output (sheet, gallery glyphs, probe, query and received maps, PNG "
        "and ZIP downloads), one HTTP GET each; the download_files=False rows show the server "
        "side alone. /query_point takes no session state: unless the app keeps recent generations, it "
        "regenerates the whole request (forward with capture) before reading one map; "
        "the UI's click handler reads session state (see the click-handler row of table 3). Every "
        "round uses new 8-character texts (one per client), so no timed /generate or /toggle can be "
        "served from a cache of finished generations; /query_point asks about the text that the "
        f"round's /generate just made, as a click would. Load average during the table: {load0} → "
        f"{loadavg()}."), 4, t_table)
    return {k: (p50(v), p95(v)) for k, v in samples.items()}


def table_concurrency(rep: Report, quick: bool, st, server: Server, single_p50: float) -> None:
    from gradio_client import Client

    n_clients, duration = 8, (20.0 if not quick else 6.0)
    clients = [Client(server.url, verbose=False, download_files=False) for _ in range(n_clients)]
    pool = TextPool(st)
    for c in clients[:1]:
        c.predict(*api_args(st, st.layer_names, pool.take()), api_name="/generate")
    lat: list[tuple[float, float]] = []
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(n_clients + 1)

    def worker(c):
        barrier.wait()
        while time.perf_counter() < deadline:
            text = pool.take()
            t = time.perf_counter()
            try:
                c.predict(*api_args(st, st.layer_names, text), api_name="/generate")
            except Exception as e:  # noqa: BLE001 - reported in the table
                errors.append(repr(e))
                continue
            with lock:
                lat.append((t, time.perf_counter()))

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    load0, t_table = loadavg(), time.perf_counter()
    for th in threads:
        th.start()
    deadline = time.perf_counter() + duration
    barrier.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = max(e for _, e in lat) - t0 if lat else float("nan")
    lats = [e - s for s, e in lat]
    rows = [[n_clients, f"{duration:.0f} s (+ requests in flight)", len(lat), len(errors),
             f"{len(lat) / wall:.2f}", f"{1 / single_p50:.2f}", ms(p50(lats)), ms(p95(lats))]]
    rep.add("## 6. Throughput with 8 concurrent Gradio clients\n\n" + md_table(
        ["clients", "window", "requests done", "errors", "requests/s", "1 ÷ single-client p50 (table 4)",
         "latency p50 ms", "latency p95 ms"], rows) + (
        "\n\nEach client is a thread with its own `gradio_client.Client` (own session, "
        "download_files=False) making sequential /generate requests, each for a new 8-character text. Every "
        "model event shares one concurrency group with limit 1, so requests queue and latency ≈ "
        "clients × service time. Load average during the table: "
        f"{load0} → {loadavg()}." + (f" First error: `{errors[0][:200]}`" if errors else "")), 6, t_table)


# =============================================================================================
# table 5: training
# =============================================================================================
def make_train_step(g: UnetGenerator, batch: int, seed: int = 0) -> Callable[[], None]:
    """One iteration of unet/train.py's loop (CPU, fp32, every loss term on) on random data of the
    dataset's shape: D update on real and fake pairs, then G with GAN + L1 + constant + category
    losses. Returns ``step()``."""
    from .discriminator import PatchDiscriminator
    from .train import gan_loss

    gen = torch.Generator().manual_seed(seed)
    k, size = g.config.num_styles, g.config.image_size
    d = PatchDiscriminator(2, 64, num_styles=k)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    src = torch.rand(batch, 1, size, size, generator=gen) * 2 - 1
    tgt = torch.rand(batch, 1, size, size, generator=gen) * 2 - 1
    style = torch.randint(k, (batch,), generator=gen)
    g.train()

    def step():
        fake = g(src, style)
        pred, cls = d(torch.cat([torch.cat([src, tgt], 1), torch.cat([src, fake.detach()], 1)]))
        pred_real, pred_fake = pred.chunk(2)
        d_loss = 0.5 * (gan_loss(pred_real, True, 0.9) + gan_loss(pred_fake, False))
        d_loss = d_loss + F.cross_entropy(cls.float(), style.repeat(2))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        pred_fake, cls_fake = d(torch.cat([src, fake], 1))
        g_loss = gan_loss(pred_fake, True) + 100 * (fake.float() - tgt).abs().mean()
        g_loss = g_loss + 15 * F.mse_loss(g.encode(fake).float(), g.encode(src).float())
        g_loss = g_loss + F.cross_entropy(cls_fake.float(), style)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    return step


def shipped_train_generator(attention) -> UnetGenerator:
    """The shipped checkpoint's architecture as unet.train builds it (its defaults: dropout on,
    style_dim 64), with random weights."""
    return UnetGenerator(1, 1, 7, ngf=64, max_mult=4, use_dropout=True, use_attention=attention,
                         image_size=128, num_styles=3, style_dim=64)


def _train256_child(argv: list[str]) -> None:
    """One training step of the 256 px config in a fresh process; prints JSON."""
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--candidate", choices=list(CANDIDATES), default=None)
    p.add_argument("--attention", default="64,32,16")
    a = p.parse_args(argv)
    if a.candidate:
        SelfAttention.attend_fast = CANDIDATES[a.candidate][1]
    rss_import = _status_bytes("VmRSS")
    torch.manual_seed(0)
    att = {int(t) for t in a.attention.split(",")} if a.attention != "none" else False
    g = UnetGenerator(1, 1, 8, ngf=64, max_mult=4, use_attention=att, image_size=256, num_styles=3,
                      use_dropout=True)
    step = make_train_step(g, a.batch)
    with PeakMemory() as pm:
        t = timed(step)
    print(json.dumps({"batch": a.batch, "candidate": a.candidate, "attention": a.attention,
                      "rss_after_import": rss_import, "rss_before_step": pm.base, "peak_rss": pm.peak,
                      "step_delta": pm.delta, "step_s": t,
                      "params_g": sum(p.numel() for p in g.parameters())}))


def table_training(rep: Report, quick: bool) -> dict:
    load0, t_table = loadavg(), time.perf_counter()
    text = ["## 5. Training"]
    batch = 8 if not quick else 2
    rounds = 3 if not quick else 1
    configs = {"attention 32,16 (shipped)": [32, 16], "attention none": False}
    fns = {}
    for label, att in configs.items():
        torch.manual_seed(0)
        fns[label] = make_train_step(shipped_train_generator(att), batch)
    samples = interleaved(fns, rounds, budget_s=math.inf, cold_threshold_s=math.inf)  # warm-up discarded
    del fns
    _trim()
    sps = {k: batch / p50(v) for k, v in samples.items()}
    none = sps["attention none"]
    rows = []
    for label, v in samples.items():
        slow = none / sps[label]
        rows.append([label, f"{sps[label]:.2f}", ms(p50(v)), len(v), f"{slow:.2f}×",
                     f"≤ {TARGET_TRAIN_RATIO}×: {verdict(slow <= TARGET_TRAIN_RATIO)}" if label != "attention none" else ""])
    text.append(md_table([f"128 px, ngf 64, max_mult 4, batch {batch}", "samples/s", "step p50 ms", "steps",
                          "time per sample ÷ no attention", "target"], rows))
    text.append(
        "Both generators live in this process and their training steps alternate (A B A B …) after "
        "one discarded warm-up step each, so load from other processes hits both alike. The step is "
        "unet/train.py's (D update on real and fake pairs; G with GAN + L1 + constant + category "
        "losses; Adam) on random tensors of the dataset's shape, with the shipped architecture as "
        "`unet.train` builds it (dropout, style_dim 64; fp32, as unet.train runs on CPU).")
    # 256 px peak memory of one training step
    variants = [("attention 64,32,16", "64,32,16", 4), ("attention 64,32,16", "64,32,16", 8),
                ("attention 32,16 (no 64×64 layer)", "32,16", 8)]
    if quick:
        variants = []  # one 256 px step takes 10-20 s here: full run only
    rows, per_batch = [], {}
    for label, att, b in variants:
        cmd = [sys.executable, "-m", "unet.bench", "_train256", "--batch", str(b), "--attention", att]
        try:
            r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=400)
            res = json.loads(r.stdout.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as e:
            rows.append([label, b, "failed", "", "", "", str(e)[:100]])
            continue
        used = res["peak_rss"] - res["rss_after_import"]
        if att == "64,32,16":
            per_batch[b] = used
        rows.append([label, b, f"{res['step_s']:.1f}", mib(res["step_delta"]), mib(used), mib(res["peak_rss"]),
                     f"≤ {TARGET_256_GIB:.0f} GiB: {verdict(used <= TARGET_256_GIB * GiB)}"])
    if not variants:
        text.append("(256 px training-step memory: run without --quick.) Load average during the "
                    f"table: {load0} → {loadavg()}.")
        rep.add("\n\n".join(text), 5, t_table)
        return {"ratio": none / sps["attention 32,16 (shipped)"], "batch": batch, "mem256": per_batch}
    text.append(md_table(["256 px, ngf 64, max_mult 4, 3 styles: one training step", "batch", "step s",
                          "peak above pre-step RSS", "peak above RSS after `import torch` (weights, "
                          "Adam, activations)", "process peak RSS", "target"], rows))
    fit = ""
    if len(per_batch) >= 2:
        (b1, m1), (b2, m2) = sorted(per_batch.items())[:2]
        slope = (m2 - m1) / (b2 - b1)
        fixed = m1 - slope * b1
        fit = (f" From the two batch sizes: ≈ {mib(slope)} per sample + {mib(fixed)} fixed, so 8 GiB "
               f"is reached near batch {(TARGET_256_GIB * GiB - fixed) / slope:.0f} (fp32, CPU).")
    text.append(
        "Each 256 px row is a fresh process that builds G (UnetGenerator(1, 1, 8, ngf=64, "
        "max_mult=4, use_attention={64,32,16}, image_size=256, num_styles=3), dropout on) and D and "
        f"runs one step of the same loop. Memory: {MEMORY_METHOD}. This is CPU memory in fp32; on a "
        "GPU the same tensors would be allocated (plus cuDNN workspaces, minus what bf16 autocast "
        f"saves), so it is a proxy for the 8 GiB target.{fit} Load average during the table: "
        f"{load0} → {loadavg()}.")
    rep.add("\n\n".join(text), 5, t_table)
    return {"ratio": none / sps["attention 32,16 (shipped)"], "batch": batch, "mem256": per_batch}


# =============================================================================================
# main
# =============================================================================================
def summary(r: dict) -> str:
    """The targets at a glance, from the tables' results (what was not run is left out)."""
    rows = []
    t4 = r.get(4)
    if t4:
        for key, target, what in (("/generate", TARGET_GENERATE_MS, "8-char generate with maps, end-to-end"),
                                  ("/toggle (16x16 off)", TARGET_TOGGLE_MS, "toggle a layer, end-to-end"),
                                  ("/query_point", TARGET_QUERY_MS, "query point via the API")):
            nodl = t4.get(key + ", download_files=False")
            got = f"{ms(t4[key][0])} ms" + (f" ({ms(nodl[0])} ms without file downloads)" if nodl else "")
            rows.append([what, f"p50 ≤ {target} ms", got, verdict(t4[key][0] * 1e3 <= target), "table 4"])
        e2e = t4["/generate"][0] / t4[BARE][0]
        nodl = t4["/generate, download_files=False"][0] / t4[BARE][0]
        rows.append(["end-to-end ÷ bare forward (/generate)", f"≤ {TARGET_E2E_RATIO:.0f}×",
                     f"{e2e:.1f}× ({nodl:.1f}× without downloads; bare {ms(t4[BARE][0])} ms)",
                     verdict(e2e <= TARGET_E2E_RATIO), "table 4"])
    t3 = r.get(3)
    if t3:
        click = t3["Generation.query_maps (move the query point, no forward)"][0] + \
            t3["click-handler work: attention_panel + probe image"][0]
        rows.append(["query click in the UI: engine + panel work (no forward, no HTTP)", f"p50 ≤ {TARGET_QUERY_MS} ms",
                     f"{ms(click)} ms", verdict(click * 1e3 <= TARGET_QUERY_MS), "table 3"])
    t1 = r.get(1)
    if t1:
        def g(res, mode, name, field="p50"):
            return t1.get((res, mode, name), {}).get(field, math.nan)
        sp = [g(64, md, EXPLICIT) / g(64, md, SHIPPED) for md in ("fwd", "fwd+bwd")]
        grow = g(64, "fwd", SHIPPED, "peak") / g(32, "fwd", SHIPPED, "peak")
        known = [x for x in sp if math.isfinite(x)]
        rows.append(["attend_fast vs explicit at 64×64, batch 8: speed", f"≥ {TARGET_FAST_SPEEDUP:.0f}× faster",
                     " / ".join(f"{x:.2f}×" for x in known) + f" (fwd{' / fwd+bwd' if len(known) > 1 else ''})",
                     verdict(all(x >= TARGET_FAST_SPEEDUP for x in known)) if known else "–", "table 1"])
        rows.append(["attend_fast: memory 32×32 → 64×64 (4× the positions)", f"linear (growth < {LINEAR_BELOW}×)",
                     f"×{grow:.1f} (explicit ×{g(64, 'fwd', EXPLICIT, 'peak') / g(32, 'fwd', EXPLICIT, 'peak'):.1f})",
                     verdict(grow < LINEAR_BELOW) if math.isfinite(grow) else "–", "table 1"])
    t5 = r.get(5)
    if t5:
        rows.append([f"training time with ÷ without attention (batch {t5['batch']})", f"≤ {TARGET_TRAIN_RATIO}×",
                     f"{t5['ratio']:.2f}×", verdict(t5["ratio"] <= TARGET_TRAIN_RATIO), "table 5"])
        if t5["mem256"]:
            b, used = max(t5["mem256"].items())
            rows.append(["256 px, attention at 64×64: one training step", f"≤ {TARGET_256_GIB:.0f} GiB",
                         f"{mib(used)} at batch {b}", verdict(used <= TARGET_256_GIB * GiB), "table 5"])
    return "## Targets at a glance\n\n" + md_table(["what", "target", "measured", "", "see"], rows)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_train256":
        return _train256_child(argv[1:])
    p = argparse.ArgumentParser(prog="python -m unet.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repetitions and cases (~2 minutes)")
    p.add_argument("--out", default=str(REPO / "BENCHMARKS.md"), help="markdown file to write ('' = none)")
    p.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated table numbers to run")
    args = p.parse_args(argv)
    only = {int(t) for t in args.only.split(",") if t.strip()}
    warnings.filterwarnings("ignore", message=".*(Flash attention|fused kernels|Memory efficient).*")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry thread in the client
    t_start = time.perf_counter()
    rep = Report(Path(args.out) if args.out else None)
    st, precision = app_stylizer()
    rep.add(machine_description(args, st, precision), 0)
    results: dict = {}
    if 1 in only:
        results[1] = table_attention(rep, args.quick)
    if 2 in only:
        table_generator(rep, args.quick, st.model)
    t3 = None
    if only & {3, 4, 6}:
        t3 = table_stylizer(rep, args.quick, st) if 3 in only else None
    results[3] = t3
    if 5 in only:  # before the server starts, so its process does not share the machine with training
        results[5] = table_training(rep, args.quick)
    if only & {4, 6}:
        t0 = time.perf_counter()
        with Server() as server:  # `python app.py` in a subprocess, as unet.stress runs it
            startup = time.perf_counter() - t0
            t4 = table_gradio(rep, args.quick, st, server, startup) if 4 in only else None
            results[4] = t4
            if 6 in only:
                single = t4["/generate, download_files=False"][0] if t4 else float("nan")
                table_concurrency(rep, args.quick, st, server, single)
    rep.add(summary(results), 0.5)
    rep.add(f"_Total benchmark wall time: {time.perf_counter() - t_start:.0f} s; load average at the end: "
            f"{loadavg()}._", 99)


if __name__ == "__main__":
    main()
