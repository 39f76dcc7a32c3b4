"""Reliability checks of the running app over its public API: bad inputs, concurrency, soak.

    python -m tools.stress [--clients 16] [--requests 50] [--soak 1000] [--url URL]
    python -m tools.stress --attacks [NAME ...] [--quick] --skip matrix --skip concurrency --soak 0

Without ``--url`` the app is started here (``python app.py`` on a free port, with a fresh
GRADIO_TEMP_DIR and TMPDIR, so the Gradio cache and the app's temporary files are this run's alone).

1. Bad-input matrix: every case goes through ``gradio_client`` (or, for values JSON cannot carry
   from the client such as NaN, a raw request to the same endpoint). Each must give a result or a
   clear message, never a traceback; the server must answer a good request after each one.
2. Concurrency: N threads, each with its own ``Client``, send M requests (styles, blends, layer
   toggles; deterministic per (client, i)). Every response's sheet (one PNG with every glyph) is
   compared pixel for pixel with the same request run alone beforehand, with its characters and status.
3. Soak: K requests in a row with varying text; server RSS and the sizes of the Gradio cache and the
   app's TMPDIR are sampled along the way.

4. Attacks (``--attacks [NAME ...]``, all of them when no name is given; ``tools.attacks``): what
   a hostile script can do over raw HTTP (fill the export queue, flood the page's server functions,
   huge bodies, uploads, a thousand sessions, pages that leave mid-export, log flooding, values of
   the wrong type), each with its figures and a target; ``--quick`` scales their counts down.

Exit status 0 when every target is met (no errors, tracebacks or mismatches; RSS growth within
``--rss-limit-mb``), 1 otherwise. ``--json PATH`` writes every figure.

The bad-input matrix, the server and ``main`` are here; ``tools.appclient`` talks to the app,
``tools.stress_load`` runs the concurrency check and the soak.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from .appclient import (
    LAYERS,
    REPO,
    STYLES,
    Outcome,
    app_choices,
    call,
    glyph_count,
    make_client,
    raw_call,
    sheet_chars,
    status_text,
)
from .attacks import ATTACKS, FULL, QUICK, Target, attacks_met, print_attacks, run_attacks
from .attacks import as_json as attacks_json
from .stress_load import print_concurrency, print_soak, rss_bytes, run_concurrency, run_soak

__all__ = ["LAYERS", "STYLES", "Case", "CaseResult", "Outcome", "Server", "bad_input_cases", "call", "main",
           "make_client", "run_case", "run_concurrency", "run_matrix", "run_soak", "sheet_chars",
           "status_text"]

GOOD_TEXT = "永"


# --- (a) bad-input matrix --------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    api: str
    args: tuple
    # "result" (all usable), "partial" (result + skipped/notes), "error" (a clear message) or
    # "rejected": refused with no traceback, but by Gradio's input preprocessing before the app's code;
    # "too large": refused with HTTP 413 before the body is read (unet/demo/guard.py)
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
        gen("1 MB of text", megabyte, "too large"),
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
        raw("weight '0.5' (string)", "/generate", ["永和", s, b, "0.5", L], "error"),  # strict
        raw("weight null", "/generate", ["永和", s, b, None, L], "error"),
        raw("text is a number", "/generate", [123, s, "(none)", 0.5, L], "error"),
        raw("layers null", "/generate", ["永和", s, "(none)", 0.5, None], "error"),
        raw("layers a string", "/generate", ["永和", s, "(none)", 0.5, L[0]], "error"),
        raw("missing arguments", "/generate", ["永和"], "rejected"),
        qp("query x=-50, y=1e9", "error", x=-50.0, y=1e9),
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
        note = status_text(out).replace("\n", " ")
    elif out.ok:
        note = f"char {out.data.get('char')!r} at point {out.data.get('point')}"
    is_alive = alive(client, style)
    if case.expect == "error":
        passed = got == "error" and out.clear
    elif case.expect == "rejected":
        passed = got == "error"
    elif case.expect == "too large":
        passed = got in ("client-error", "http-error") and "413" in out.message
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
        self.tmp_dir = self.root / "tmp"  # tempfile.gettempdir() of the app
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
    ap = argparse.ArgumentParser(prog="python -m tools.stress", description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=50, help="requests per client")
    ap.add_argument("--soak", type=int, default=1000, help="requests in the soak (0: skip)")
    ap.add_argument("--url", help="a running app; default: start one here")
    ap.add_argument("--pid", type=int, help="with --url: the server's pid (default: who listens on the port)")
    ap.add_argument("--cache-dir", type=Path, help="with --url: its GRADIO_TEMP_DIR")
    ap.add_argument("--tmp-dir", type=Path, help="with --url: its TMPDIR (default: not sampled)")
    ap.add_argument("--skip", action="append", default=[], choices=["matrix", "concurrency"])
    ap.add_argument("--quick", action="store_true", help="the 10,000-character case with few distinct ones, "
                    "and the attacks' small counts (a few minutes in all)")
    ap.add_argument("--attacks", nargs="*", metavar="NAME", choices=list(ATTACKS),
                    help=f"run these attacks after the other checks (no name: all): {', '.join(ATTACKS)}")
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
        tmp_dir = args.tmp_dir
    else:
        server = Server(keep=args.keep)
        t = time.perf_counter()
        server.__enter__()
        url, pid, cache_dir, tmp_dir = server.url, server.pid, server.cache_dir, server.tmp_dir
        log(f"started the app (pid {pid}) on {url} in {time.perf_counter() - t:.0f}s; "
            f"GRADIO_TEMP_DIR={cache_dir}, TMPDIR={tmp_dir}")
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
            soak = run_soak(url, args.soak, pid, cache_dir, tmp_dir, log=log)
            print_soak(soak)
            g = soak.growth()
            report["soak"] = {"samples": [asdict(s) for s in soak.samples], "growth": g,
                              "errors": soak.errors, "tracebacks": soak.tracebacks,
                              "p50_s": statistics.median(soak.latencies), "problems": soak.problems[:20]}
            rss_ok = g["rss_mb"] is None or g["rss_mb"] <= args.rss_limit_mb
            ok &= soak.errors == 0 and soak.tracebacks == 0 and rss_ok
        if args.attacks is not None:
            log(f"(d) attacks{' (quick)' if args.quick else ''} ...")
            target = Target(url, pid=pid, cache_dir=cache_dir, tmp_dir=tmp_dir, server=server,
                            scale=QUICK if args.quick else FULL, log=log)
            attacks = run_attacks(target, args.attacks)
            print_attacks(attacks)
            report["attacks"] = attacks_json(attacks)
            ok &= attacks_met(attacks)
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
