"""Table 2: generator forward for 1 / 8 / 32 glyphs (the engine's model, a 256 px config,
attention off, one thread, bf16 autocast, candidate attention processors)."""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import torch

from unet import UnetGenerator, attention_layers
from unet.engine.hooks import attention_hooks
from unet.model.attention import AttentionProcessor, explicit_attention

from . import measure as m
from .attention_kernels import map_bytes, multi_head_split, single_head_padded, using_processor


class Config(NamedTuple):
    label: str
    model: UnetGenerator
    processor: AttentionProcessor | None = None  # a candidate set for the call only
    off: bool = False  # every attention layer bypassed
    threads: int | None = None
    quick: bool = False  # also run in --quick
    bf16: bool = False


def _attention(model: UnetGenerator) -> str:
    return ",".join(str(layer.resolution) for layer in attention_layers(model).values())


def first_style(model: UnetGenerator) -> torch.Tensor | None:
    """Style weights selecting the model's first style (None for a model without styles)."""
    k = model.config.num_styles
    return torch.tensor([1.0] + [0.0] * (k - 1)) if k else None


def table_generator(rep: m.Report, quick: bool, shipped: UnetGenerator, tiny: bool = False) -> dict:
    torch.manual_seed(0)
    big = UnetGenerator(1, 1, 8, ngf=4 if tiny else 64, max_mult=4, use_attention={64, 32, 16},
                        image_size=256, num_styles=3).eval()
    batches = [1, 8, 32] if not quick else [1, 8]
    reps = {1: 9, 8: 5, 32: 2} if not quick else {1: 3, 8: 1}
    budget = {1: 10, 8: 30, 32: 20} if not quick else {1: 3, 8: 5}
    here = f"shipped {shipped.config.image_size} px, attention {_attention(shipped)}"
    configs = [
        Config(here, shipped, quick=True),
        Config("shipped, attention off (hooks)", shipped, off=True, quick=True),
        Config("shipped, 1 intra-op thread", shipped, threads=1, quick=True),
        Config("shipped, bf16 autocast", shipped, quick=True, bf16=True),
        Config("shipped + multi-head split SDPA (candidate)", shipped, multi_head_split),
        Config("shipped + single-head padded SDPA (candidate)", shipped, single_head_padded),
        Config("shipped + explicit bmm attention (candidate)", shipped, explicit_attention),
        Config("256 px, attention 64,32,16 (random weights)", big, quick=True),
        Config("256 px, attention off (hooks)", big, off=True),
        Config("256 px, bf16 autocast", big, bf16=True),
        Config("256 px + multi-head split SDPA (candidate)", big, multi_head_split),
    ]
    if quick:
        configs = [c for c in configs if c.quick]
    results: dict = {}
    skipped: dict[tuple[str, int], str] = {}
    load0, t_table = m.loadavg(), time.perf_counter()
    for b in batches:
        fns = {}
        for cfg in configs:
            model, label = cfg.model, cfg.label
            size = model.config.image_size
            need = 0 if cfg.off else map_bytes(model, b, cfg.processor)
            if need > m.MAP_LIMIT or 2.5 * need > m.available_bytes():
                skipped[(label, b)] = f"skipped: {m.mib(need)} map"
                continue
            if model is big and b == 32 and (cfg.processor is not None or cfg.bf16):
                skipped[(label, b)] = "skipped (time)"
                continue
            if quick and model is big and b > 1:
                skipped[(label, b)] = "skipped in --quick"
                continue
            x = torch.rand(b, 1, size, size) * 2 - 1
            style = first_style(model)
            names = list(attention_layers(model)) if cfg.off else []

            def call(cfg=cfg, x=x, style=style, names=names):
                with torch.inference_mode(), using_processor(cfg.model, cfg.processor), \
                        attention_hooks(cfg.model, names), m.num_threads(cfg.threads), \
                        torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                    return cfg.model(x, style).float()
            fns[label] = call
        samples = m.interleaved(fns, reps[b], budget[b])
        for label, smp in samples.items():
            results[(label, b)] = m.p50(smp)
            results[(label, b, "n")] = len(smp)
        m.trim()
    header = ["generator (eval, inference_mode)"] + [f"batch {b}: p50 ms (ms/glyph), n" for b in batches] + [
        "÷ attention off (same model)", "÷ shipped (same batch)"]

    def ratios(label, other):
        if other is None:
            return "–"
        return ", ".join(f"b{b} {m.ratio(results.get((label, b), math.nan), results.get((other, b), math.nan))}"
                         for b in batches if (label, b) in results and (other, b) in results)

    rows = []
    for cfg in configs:
        row = [cfg.label]
        for b in batches:
            if (cfg.label, b) in results:
                t = results[(cfg.label, b)]
                row.append(f"{m.ms(t)} ({m.ms(t / b)}), {results[(cfg.label, b, 'n')]}")
            else:
                row.append(skipped.get((cfg.label, b), "–"))
        same = [c for c in configs if c.model is cfg.model]
        off_label = next((c.label for c in same if c.off), None)
        ref_label = next(c.label for c in same
                         if c.processor is None and not c.off and c.threads is None and not c.bf16)
        row.append(ratios(cfg.label, off_label) if not cfg.off else "")
        row.append(ratios(cfg.label, ref_label) if cfg.label != ref_label else "")
        rows.append(row)
    rep.add("## 2. Generator forward\n\n" + m.md_table(header, rows) + (
        "\n\nAttention off = every SelfAttention bypassed through `unet.engine.hooks.attention_hooks` (what "
        "a layer toggle does). 'Candidate' rows set that attention processor on the model's layers "
        "(`unet.set_attention_processor`) for the call only (same results up to float rounding, see "
        "table 1). 'bf16 autocast' runs the forward under "
        "`torch.autocast('cpu', dtype=torch.bfloat16)` (what the app does with precision 'auto' on a "
        "CPU with AMX; outputs differ slightly from fp32). '1 intra-op thread' runs "
        f"`torch.set_num_threads(1)` around the call (default here: {torch.get_num_threads()}). "
        f"{m.load_note(load0)}"), 2, t_table)
    return results
