"""Benchmarks: ``python -m benchmarks [--quick] [--only 1,3] [--out BENCHMARKS.md]``.

Prints markdown tables and writes them, with a description of the machine, to ``--out``. Every
table compares its rows side by side in one run: variants are interleaved round-robin (A B C A B C
...), so a burst of load from other processes hits all of them alike. On a shared machine absolute
times drift; the ratios are the numbers to read.

Tables:
  1. attention kernels (``SelfAttention.attend_explicit`` vs the shipped ``sdpa_attention``
     processor and candidate processors);
  2. generator forward for 1 / 8 / 32 glyphs (shipped 128 px, a 256 px config, attention off);
  3. ``Stylizer`` end-to-end for an 8-character request, and ``Generation.query_maps``;
  4. the Gradio API end-to-end (``/generate``, ``/toggle``, ``/query_point``) via ``gradio_client``;
  5. training throughput with / without attention (unet/train/train.py's step, both models in this
     process, steps alternating), and the peak memory of one 256 px training step with attention
     at 64x64 (a fresh process per row);
  6. throughput with 8 concurrent Gradio clients;
  7. the live loop in a real browser (Playwright + Debian's chromium): Generate and a toggle until
     the sheet is painted, the attention map's redraw rate while the mouse moves, 8 browsers
     opening the page at once, and the server's memory after hundreds of sessions;
  8. font export: ms per glyph to generate, trace (potrace and the fallback), place and build TTF
     and OTF, and a whole GB2312 level-1 font end to end (``--quick``: 512 characters).

Memory is the process's peak resident set size (``VmHWM`` from ``/proc/self/status``, reset before the
measured call by writing ``5`` to ``/proc/self/clear_refs``, after ``malloc_trim(0)`` so freed heap
pages cannot hide an allocation) minus the resident size just before the call. That sees every
allocation torch makes on the CPU, including short-lived peaks a sampling thread would miss. Where
``clear_refs`` cannot be written, a thread samples ``psutil`` RSS every millisecond instead; the
output says which was used.

"Candidate" rows run benchmark-local attention processors (multi-head split, zero-padded single
head, explicit), set on the measured model's layers for the duration of the call only; the package
itself is not changed. The engine runs as app.py builds it (``GLYPH_PRECISION``, default 'auto').

``--tiny`` is a smoke test (implies ``--quick``): the kernels and the models this benchmark builds
itself shrink to a few channels, so the tables run in seconds; their numbers mean nothing. With
``--checkpoint DIR`` the engine loads that checkpoint instead of the shipped one; tables 4 and 6
serve the shipped one through app.py, so they cannot be combined with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from . import attention_kernels, gradio_api, stylizer, training
from .measure import REPO, Report, loadavg, machine_description, md_table

TABLES = {1, 2, 3, 4, 5, 6, 7, 8}
SERVER_TABLES = {4, 6, 7}


def summary(results: dict) -> str:
    """The targets at a glance, from the tables' results (what was not run is left out)."""
    rows = []
    from . import concurrency, font_export, live_loop

    for table, module in ((4, gradio_api), (7, live_loop), (6, concurrency), (3, stylizer),
                          (1, attention_kernels), (5, training), (8, font_export)):
        if results.get(table):
            rows += module.summary_rows(results[table])
    return "## Targets at a glance\n\n" + md_table(["what", "target", "measured", "", "see"], rows)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repetitions and cases (~2 minutes)")
    p.add_argument("--tiny", action="store_true",
                   help="smoke test: --quick with tiny kernels and models (numbers mean nothing)")
    p.add_argument("--checkpoint", type=Path, help="the engine's checkpoint (default: the shipped one)")
    p.add_argument("--out", default=str(REPO / "BENCHMARKS.md"), help="markdown file to write ('' = none)")
    p.add_argument("--only", default="1,2,3,4,5,6,7,8", help="comma-separated table numbers to run")
    args = p.parse_args(argv)
    args.quick = args.quick or args.tiny
    try:
        args.only = {int(t) for t in args.only.split(",") if t.strip()}
    except ValueError:
        p.error(f"--only takes table numbers, e.g. 1,3; got {args.only!r}")
    if not args.only or args.only - TABLES:
        p.error(f"--only takes table numbers from 1 to 8; got {sorted(args.only)}")
    if args.checkpoint and args.only & SERVER_TABLES:
        p.error("tables 4, 6 and 7 serve the shipped checkpoint through app.py: with --checkpoint, "
                "choose from --only 1,2,3,5,8")
    return args


def command(args: argparse.Namespace) -> str:
    """The command line as the report shows it."""
    return "python -m benchmarks" + (" --tiny" if args.tiny else " --quick" if args.quick else "") + (
        f" --checkpoint {args.checkpoint}" if args.checkpoint else "")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_train256":
        return training.train256_child(argv[1:])
    args = parse_args(argv)
    only = args.only
    warnings.filterwarnings("ignore", message=".*(Flash attention|fused kernels|Memory efficient).*")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry thread in the client
    t_start = time.perf_counter()
    rep = Report(Path(args.out) if args.out else None)
    st, precision = stylizer.app_stylizer(args.checkpoint)
    rep.add(machine_description(command(args), precision, st.bf16), 0)
    results: dict = {}
    if 1 in only:
        results[1] = attention_kernels.table_attention(rep, args.quick, args.tiny)
    if 2 in only:
        from .generator import table_generator

        table_generator(rep, args.quick, st.model, args.tiny)
    if 3 in only:
        results[3] = stylizer.table_stylizer(rep, args.quick, st)
    if 5 in only:  # before the server starts, so its process does not share the machine with training
        results[5] = training.table_training(rep, args.quick, args.tiny)
    if 8 in only:  # also before the server: it keeps both cores busy for minutes
        from .font_export import table_font

        results[8] = table_font(rep, args.quick, st, args.tiny)
    if only & SERVER_TABLES:
        from tools.stress import Server

        from .concurrency import table_concurrency

        t0 = time.perf_counter()
        with Server() as server:  # `python app.py` in a subprocess, as tools.stress runs it
            startup = time.perf_counter() - t0
            results[4] = gradio_api.table_gradio(rep, args.quick, st, server, startup) if 4 in only else None
            if 6 in only:
                t4 = results[4]
                single = t4[gradio_api.GENERATE + gradio_api.NO_DOWNLOAD][0] if t4 else float("nan")
                results[6] = table_concurrency(rep, args.quick, st, server, single)
            if 7 in only:
                from .live_loop import table_live

                results[7] = table_live(rep, args.quick, st, server)
    rep.add(summary(results), 0.5)
    rep.add(f"_Total benchmark wall time: {time.perf_counter() - t_start:.0f} s; load average at the end: "
            f"{loadavg()}._", 99)


if __name__ == "__main__":
    main()
