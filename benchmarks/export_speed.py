"""An export as the app makes it, against its bound: ``python -m benchmarks.export_speed [--chars N]
[--style S] [--threads 1] [--before OLD_TRACE_PY]``.

Exports the N most used simplified characters through ``FontExports`` (the app's path: queue,
draw, trace on two threads, build) with the app's torch threads (1, as ``app.py`` runs), and times
the model's forward pass alone over the same characters: the export cannot be faster than that.
``--before`` also exports with another version of ``unet/fontexport/trace.py`` (e.g. ``git show
REV:unet/fontexport/trace.py > /tmp/trace_before.py``), side by side in one process. Prints a
markdown table; not a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from unet.demo.exports import FontExports
from unet.engine.charsets import frequent_simplified
from unet.engine.stylizer import Stylizer
from unet.fontexport.trace import trace
from unet.settings import EXPORT_BATCH

from .font_outlines import load_trace_module, tracing_with
from .measure import md_table


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.export_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chars", type=int, default=500, help="the N most used simplified characters")
    p.add_argument("--style", default="LXGW WenKai")
    p.add_argument("--threads", type=int, default=1, help="torch threads (app.py: 1)")
    p.add_argument("--before", type=Path, help="another trace.py to export with as well")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    st = Stylizer.from_pretrained()
    text = "".join(frequent_simplified(a.chars))
    exports = FontExports(st, max_chars=len(text), niceness=0)
    variants = [("now", trace)] + ([("before", load_trace_module(a.before).trace)] if a.before else [])
    rows = []
    req = st.request(text, a.style)
    t = time.perf_counter()
    for i in range(0, len(text), EXPORT_BATCH):
        st.draw(list(text[i:i + EXPORT_BATCH]), req, with_target=False)
    forward = time.perf_counter() - t
    rows.append(["the forward pass alone (the bound)", f"{forward:.1f} s", "1.00×", ""])
    for name, fn in variants:
        with tracing_with(fn):
            t = time.perf_counter()
            out = exports.make(f"benchmark-{name}", text, a.style, "ttf", False)
            spent = time.perf_counter() - t
        rows.append([f"export, tracer {name}", f"{spent:.1f} s", f"{spent / forward:.2f}×", f"{out['size'] / 1e3:.0f} KB"])
    print(f"## Export speed: {len(text)} characters, {a.style}, {a.threads} torch thread(s)\n")
    print(md_table([f"{len(text)} characters", "time", "÷ forward alone", "file"], rows))


if __name__ == "__main__":
    main()
