"""Table 3: ``Stylizer`` end-to-end for an 8-character request, ``Generation.query_maps``, and the
service work the app adds; plus the engine as app.py builds it, shared with tables 4 and 6."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import numpy as np
import torch

from unet import Stylizer
from unet.settings import Settings

from . import measure as m
from .generator import first_style

TEXT8 = "永和九年歲在癸丑"  # the 8-character request of tables 3, 4 and 6
BARE = "bare generator forward (pre-rendered glyphs)"
QUERY = "Generation.query_maps (move the query point, no forward)"
SERVICE = "/generate handler work besides the forward: DemoService.generate"


class TextPool:
    """Distinct 8-character requests (TEXT8 first), so no request repeats within a run: a cache of
    finished generations in the app or the engine cannot turn a timed generation into a lookup."""

    def __init__(self, st: Stylizer):
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


def app_stylizer(checkpoint: Path | None = None) -> tuple[Stylizer, str]:
    """The Stylizer as app.py builds it (precision from GLYPH_PRECISION, default 'auto'), from the
    shipped checkpoint unless ``checkpoint`` names another."""
    precision = Settings.from_env().precision
    return Stylizer.from_pretrained(checkpoint, device="cpu", precision=precision), precision


@contextlib.contextmanager
def stylizer_precision(st: Stylizer, bf16: bool | None):
    """Temporarily switch the Stylizer's bf16 autocast (None: leave it)."""
    if bf16 is None:
        yield
        return
    old, st.bf16 = st.bf16, bf16
    try:
        yield
    finally:
        st.bf16 = old


def forward_like_app(st: Stylizer, src: torch.Tensor, style_vec, bf16: bool | None = None):
    """The generator forward exactly as ``Stylizer.run`` runs it (autocast as configured)."""
    on = st.bf16 if bf16 is None else bf16
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=on):
        return st.model(src, style_vec).float()


def bare_forward(st: Stylizer):
    """``bare(threads, bf16)``: a function that runs the forward for TEXT8's pre-rendered glyphs."""
    chars, _, _ = st.prepare(TEXT8)
    assert len(chars) == 8, chars
    src, style_vec = st.render_sources(chars), first_style(st.model)

    def bare(threads=None, bf16=None):
        def call():
            with m.num_threads(threads):
                return forward_like_app(st, src, style_vec, bf16)
        return call
    return bare


def service_work(st: Stylizer, text: str) -> m.Timed:
    """What the app's /generate handler computes besides the forward (``DemoService.generate``:
    sheet, status, character choices, attention panel), on a fresh service whose generation is
    made first, outside the timer."""
    from unet.demo.service import DemoService

    svc = DemoService(st, speculate=False)
    svc.result(svc.request(text, st.styles[0], None, 0.0, st.layer_names))
    t = time.perf_counter()
    svc.generate(None, text, st.styles[0], None, 0.0, st.layer_names)
    return m.Timed(time.perf_counter() - t)


def table_stylizer(rep: m.Report, quick: bool, st: Stylizer) -> dict:
    from unet.engine.visualize import tensor_to_image

    reps = 20 if not quick else 4
    bare = bare_forward(st)
    pool = TextPool(st)

    def gen(capture, with_target=True, threads=None, bf16=None):
        def call():
            text = pool.take()  # outside the timer (its source glyphs are rendered there)
            t = time.perf_counter()
            with m.num_threads(threads), stylizer_precision(st, bf16):
                st.generate(text, style=st.styles[0], capture=capture, with_target=with_target)
            return m.Timed(time.perf_counter() - t)
        return call

    fns = {BARE: bare()}
    if st.bf16:
        fns["bare forward, fp32 (no bf16 autocast)"] = bare(bf16=False)
    fns.update({
        "bare forward, 1 intra-op thread": bare(1),
        "Stylizer.generate(capture=False)": gen(False),
        "Stylizer.generate(capture=True)": gen(True),
        "generate(capture=True, with_target=False)": gen(True, False),
        "generate(capture=True), 1 intra-op thread": gen(True, threads=1),
    })
    if st.bf16:
        fns["generate(capture=True), fp32 (no bf16 autocast)"] = gen(True, bf16=False)
    # pieces of generate besides the forward
    chars = st.prepare(TEXT8)[0]
    src = st.render_sources(chars)
    out = forward_like_app(st, src, first_style(st.model))
    font = st.target_font(st.styles[0])
    fns["  part: prepare + render_sources (cache hit)"] = lambda: st.render_sources(st.prepare(TEXT8)[0])
    fns["  part: tensor_to_image × 16 (source + generated)"] = lambda: [
        tensor_to_image(t) for t in torch.cat([src, out])]
    fns["  part: render the real target glyphs × 8 (not cached)"] = lambda: [
        font.render(c, st.glyph_size) if font and font.draws(c) else None for c in chars]
    load0, t_table = m.loadavg(), time.perf_counter()
    samples = m.interleaved(fns, reps, 60 if not quick else 10)
    g = st.generate(TEXT8, style=st.styles[0], capture=True)
    rng = np.random.default_rng(0)
    size = st.glyph_size
    pts = [(int(rng.integers(8)), float(rng.uniform(0, size)), float(rng.uniform(0, size)))
           for _ in range(200)]
    samples[QUERY] = [m.timed(lambda i=i, x=x, y=y: g.query_maps(i, x, y))
                      for i, x, y in pts[: 100 if not quick else 30]]
    samples[SERVICE] = [m.timed(lambda: service_work(st, pool.take())) for _ in range(8 if not quick else 3)]
    bare_p50 = m.p50(samples[BARE])
    rows = []
    for name, s in samples.items():
        target = ""
        if name == "Stylizer.generate(capture=True)":
            target = (f"the whole 8-char request has {m.TARGET_GENERATE_MS} ms (table 4); this part alone: "
                      f"{m.verdict(m.p50(s) * 1e3 <= m.TARGET_GENERATE_MS)}")
        if name == QUERY:
            target = (f"a click has {m.TARGET_QUERY_MS} ms; this part alone: "
                      f"{m.verdict(m.p50(s) * 1e3 <= m.TARGET_QUERY_MS)}")
        rows.append([name, m.ms(m.p50(s), 2), m.ms(m.p95(s), 2), len(s), m.ratio(m.p50(s), bare_p50), target])
    rep.add("## 3. Stylizer end-to-end, 8 characters (" + TEXT8 + ")\n\n" + m.md_table(
        ["step", "p50 ms", "p95 ms", "n", "÷ bare forward", "target"], rows) + (
        "\n\n`generate` = validate, split text, render sources (cached after the first call), one "
        "batched forward, hooks, PIL conversion, and (with_target) rendering the real target font. "
        "capture=True adds, per attention layer, q/k copies and the mean-received map (one N×N map "
        "per character, built and reduced one at a time). `query_maps` recomputes one softmax row per "
        "layer from the stored q/k, so moving the query point needs no forward. 'part' rows time "
        "pieces of `generate` on their own; the last row is the DemoService work the Gradio "
        "handlers add on top of `generate` for a new request. '1 intra-op thread' rows run "
        "`torch.set_num_threads(1)` "
        "around the call: on a 2-core machine that other processes also load, torch's 2-thread "
        f"parallel regions wait on a descheduled thread, so this ratio swings with the load. "
        f"{m.load_note(load0)}"), 3, t_table)
    return {k: (m.p50(v), m.p95(v)) for k, v in samples.items()}


def summary_rows(results: dict) -> list[list[str]]:
    """Table 3's line of the targets at a glance."""
    click = results[QUERY][0]
    return [["move the query point: Generation.query_maps (no forward, no HTTP)",
             f"p50 ≤ {m.TARGET_QUERY_MS} ms", f"{m.ms(click)} ms",
             m.verdict(click * 1e3 <= m.TARGET_QUERY_MS), "table 3"]]
