"""What every benchmark table shares: interleaved timing, peak memory (``PeakMemory``; the method is
described in ``python -m benchmarks --help``), the machine's description, formatting, the targets,
and the markdown report."""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import math
import os
import platform
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from unet.engine.runtime import has_amx, release_memory

REPO = Path(__file__).resolve().parent.parent
GiB = 1024 ** 3
MiB = 1024 ** 2
MAP_LIMIT = 4 * GiB  # a path that materialises N x N maps runs only while one map is at most this

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
# memory
# =============================================================================================
def _proc_bytes(path: str, key: str) -> int:
    """A ``key:  N kB`` line of a /proc file, in bytes (0 if absent)."""
    with open(path) as f:
        found = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
    return int(found.group(1)) * 1024 if found else 0


def status_bytes(key: str) -> int:
    """This process's ``VmRSS``, ``VmHWM``, ... in bytes."""
    return _proc_bytes("/proc/self/status", key)


def _can_reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status_bytes("VmHWM") > 0
    except OSError:
        return False


RESET_HWM = _can_reset_hwm()
MEMORY_METHOD = ("peak RSS: VmHWM reset via /proc/self/clear_refs (after malloc_trim), minus RSS "
                 "before the call" if RESET_HWM else
                 "peak RSS: psutil RSS sampled every 1 ms in a thread, minus RSS before the call")


def trim() -> None:
    """Collect garbage and hand freed heap back to the OS, so the next measurement starts clean."""
    gc.collect()
    release_memory()


class PeakMemory:
    """``with PeakMemory() as pm: ...``; then ``pm.delta`` (bytes above the RSS at entry) and
    ``pm.peak`` (the process's peak RSS inside the block)."""

    def __enter__(self):
        trim()
        self.base = status_bytes("VmRSS")
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
            self.peak = max(status_bytes("VmHWM"), self.base)
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._peak, status_bytes("VmRSS"))
        self.delta = self.peak - self.base
        return False


def available_bytes() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return meminfo("MemAvailable")


def meminfo(key: str) -> int:
    """The machine's ``MemTotal``, ``MemAvailable``, ... in bytes."""
    return _proc_bytes("/proc/meminfo", key)


def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


# =============================================================================================
# timing
# =============================================================================================
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


# =============================================================================================
# formatting
# =============================================================================================
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
    if b >= GiB:
        return f"{b / GiB:.2f} GiB"
    return f"{b / MiB:,.0f} MiB" if b >= 10 * MiB else f"{b / MiB:.1f} MiB"


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


def load_note(load0: str) -> str:
    """How the machine's load moved while a table ran (other people's jobs share it)."""
    return f"Load average during the table: {load0} → {loadavg()}."


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


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
        changed = [line[3:] for line in dirty if line[3:] != "BENCHMARKS.md"]
        return commit + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_description(command: str, precision: str, bf16: bool) -> str:
    """The header of the report: when, what ran, on which machine, and how the engine was built."""
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
        gradio_version = metadata.version("gradio")
    except metadata.PackageNotFoundError:
        gradio_version = "not installed"
    rows = [
        ["date", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")],
        ["command", f"`{command}`"],
        ["commit", _git_commit()],
        ["CPU", cpu],
        ["cores", f"{os.cpu_count()} logical, {affinity} usable by this process"],
        ["memory", f"{meminfo('MemTotal') / GiB:.1f} GiB total, "
                   f"{available_bytes() / GiB:.1f} GiB available at start"],
        ["torch", f"{torch.__version__} (intra-op threads {torch.get_num_threads()}, inter-op "
                  f"{torch.get_num_interop_threads()}, MKL {torch.backends.mkl.is_available()}, "
                  f"oneDNN {torch.backends.mkldnn.is_available()})"],
        ["python / gradio", f"{platform.python_version()} / {gradio_version}"],
        ["load average at start", loadavg() + " (other people's jobs share this machine)"],
        ["memory method", MEMORY_METHOD],
        ["engine precision", f"`Stylizer(precision={precision!r})` as app.py builds it → bf16 autocast "
                             f"{'on' if bf16 else 'off'} (AMX: {'yes' if has_amx() else 'no'})"],
    ]
    return "# Benchmarks\n\n" + md_table(["", ""], rows) + (
        "\n\nEvery table's rows were measured side by side in this one run (interleaved round-robin); "
        "the machine is shared, so read ratios rather than absolute times. p50 = median, "
        "p95 = 95th percentile; n = samples per row.")
