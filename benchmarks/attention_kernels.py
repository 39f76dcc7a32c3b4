"""Table 1: attention kernels, and the candidate attention processors the other tables try.

A candidate is a processor function ``(layer, x) -> attend(x)`` like the shipped ones in
``unet.model.attention``. Here a free-standing ``SelfAttention(C)`` is computed by calling the function
directly; a model runs one through ``using_processor``, which sets it on that model's layers only
and restores them afterwards (``unet.set_attention_processor``).
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

from unet import SelfAttention, UnetGenerator, attention_layers, set_attention_processor
from unet.model.attention import AttentionProcessor, explicit_attention, sdpa_attention

from . import measure as m


# =============================================================================================
# candidate processors
# =============================================================================================
def multi_head_split(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """v split into C/d heads of width d sharing one q/k (all head dims equal, flash-eligible),
    with contiguous q/k/v; what the shipped fast path did at commit 37889e3."""
    b, c, h, w = x.shape
    q, k, v = (t.contiguous() for t in layer.projections(x))
    d = layer.qk_channels
    if not (c % d == 0 and c > d):
        return single_head_padded(layer, x)
    heads = c // d
    qh = q.unsqueeze(1).expand(b, heads, -1, d)
    kh = k.unsqueeze(1).expand(b, heads, -1, d)
    vh = v.reshape(b, -1, heads, d).transpose(1, 2)
    out = F.scaled_dot_product_attention(qh, kh, vh, scale=1.0)  # (B, heads, N, d)
    return out.transpose(1, 2).reshape(b, -1, c).transpose(1, 2).reshape(b, c, h, w)


def single_head(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """One SDPA head: q/k of width d, v of width C (the CPU flash kernel needs equal widths)."""
    b, c, h, w = x.shape
    q, k, v = (t.contiguous() for t in layer.projections(x))
    return F.scaled_dot_product_attention(q, k, v, scale=1.0).transpose(1, 2).reshape(b, c, h, w)


def single_head_padded(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """One SDPA head with q/k zero-padded from d to C channels: the same logits, flash-eligible,
    one softmax over N×N logits instead of C/d of them."""
    b, c, h, w = x.shape
    q, k, v = layer.projections(x)
    d = layer.qk_channels
    q, k = F.pad(q, (0, c - d)), F.pad(k, (0, c - d))
    out = F.scaled_dot_product_attention(q[:, None], k[:, None], v.contiguous()[:, None], scale=1.0)[:, 0]
    return out.transpose(1, 2).reshape(b, c, h, w)


CHUNK = 1024


def chunked_explicit(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The explicit maths (bmm, softmax, bmm) over blocks of CHUNK queries: memory B×CHUNK×N."""
    b, c, h, w = x.shape
    q, k, v = layer.projections(x)
    kt = k.transpose(1, 2)
    out = torch.cat([torch.bmm(torch.softmax(torch.bmm(q[:, i:i + CHUNK], kt), dim=-1), v)
                     for i in range(0, q.shape[1], CHUNK)], 1)
    return out.transpose(1, 2).reshape(b, c, h, w)


def _split_heads(c: int, d: int) -> int:
    return c // d if c % d == 0 and c > d else 1


EXPLICIT = "explicit (bmm, returns map)"
SHIPPED = "sdpa_attention (shipped)"
MULTI = "multi-head split: C/d heads of width d sharing q/k"
PADDED = "single-head SDPA, q/k zero-padded to C"
CHUNKED = f"explicit in {CHUNK}-query chunks"
# name -> (processor, kind: "bmm" full map / "chunk" / "sdpa", heads on SDPA's math fallback f(c, d))
VARIANTS: dict[str, tuple[AttentionProcessor, str, Callable[[int, int], int]]] = {
    EXPLICIT: (explicit_attention, "bmm", lambda c, d: 1),
    SHIPPED: (sdpa_attention, "sdpa", _split_heads),
    MULTI: (multi_head_split, "sdpa", _split_heads),
    "single-head SDPA (q/k d wide, v C wide)": (single_head, "sdpa", lambda c, d: 1),
    PADDED: (single_head_padded, "sdpa", lambda c, d: 1),
    CHUNKED: (chunked_explicit, "chunk", lambda c, d: 1),
}
# candidates to the shipped processor tried in the generator and training tables
CANDIDATES = {"multihead": ("multi-head split SDPA", multi_head_split),
              "padded": ("single-head padded SDPA", single_head_padded),
              "explicit": ("explicit bmm path", explicit_attention)}


@contextlib.contextmanager
def using_processor(model: UnetGenerator, processor: AttentionProcessor | None):
    """Compute ``model``'s attention with ``processor`` inside the block (None: leave it)."""
    if processor is None:
        yield
        return
    previous = set_attention_processor(model, processor)
    try:
        yield
    finally:
        set_attention_processor(model, previous)


def sdpa_kernel_of(fn: AttentionProcessor, channels: int) -> str:
    """'flash' when ``fn`` runs with only the flash backend allowed, else 'math (N×N map)'."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    layer = SelfAttention(channels)
    x = torch.randn(1, channels, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.inference_mode(), sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                fn(layer, x)
            return "flash"
        except RuntimeError:
            return "math (N×N map)"


def map_bytes(model: UnetGenerator, batch: int, processor: AttentionProcessor | None = None) -> int:
    """Largest N×N attention tensor the model's forward creates with ``processor`` (None: each
    layer's own)."""
    layers = attention_layers(model).values()
    if processor is explicit_attention:
        return max((batch * layer.resolution ** 4 * 4 for layer in layers), default=0)
    if processor in (single_head_padded, multi_head_split):
        return 0
    worst = 0
    for layer in layers:
        c, d = layer.in_channels, layer.qk_channels
        if sdpa_kernel_of(processor or layer.processor, c) != "flash":
            worst = max(worst, batch * _split_heads(c, d) * layer.resolution ** 4 * 4)
    return worst


# =============================================================================================
# table 1
# =============================================================================================
def _skip_reason(name: str, mode: str, res: int, size: int, full: bool, quick: bool) -> str | None:
    limit = m.MAP_LIMIT if mode == "fwd" else m.MAP_LIMIT // 4
    if full and size > limit:
        return f"skipped: {m.mib(size)} map"
    if full and 2.5 * size > m.available_bytes():
        return "skipped: not enough free memory"
    if quick and (name not in (EXPLICIT, SHIPPED, PADDED)
                  or (res == 64 and (mode == "fwd+bwd" or name not in (EXPLICIT, SHIPPED)))):
        return "skipped in --quick"
    if res == 128 and mode == "fwd+bwd":
        return "skipped (time: ~3× the forward)"
    if res == 128 and full and name != EXPLICIT:
        return "skipped (same maths as explicit)"
    return None


def _caller(fn: AttentionProcessor, layer: SelfAttention, x: torch.Tensor, mode: str):
    if mode == "fwd":
        def call():
            with torch.inference_mode():
                return fn(layer, x)
    else:
        def call():
            layer.zero_grad(set_to_none=True)
            xx = x.detach().requires_grad_(True)
            (layer.gamma * fn(layer, xx) + xx).sum().backward()
            return xx.grad
    return call


def table_attention(rep: m.Report, quick: bool, tiny: bool = False) -> dict:
    batch = 8
    # (resolution, channels, batch): channels as in the models (128 px: 32x32=128, 16x16=256;
    # 256 px: 64x64=128, 128x128=64)
    cases = [(16, 256, batch), (32, 128, batch), (64, 128, batch)]
    if not quick:
        cases.append((128, 64, 1))  # batch 8 would take ~40 s a call on 2 cores
    if tiny:  # a smoke test: the same maps with 1/8 of the channels, one sample
        batch, cases = 1, [(res, c // 8, 1) for res, c, _ in cases]
    reps = {16: 15, 32: 9, 64: 2, 128: 1} if not quick else {16: 3, 32: 2, 64: 1}
    budget = {16: 8, 32: 15, 64: 40, 128: 30} if not quick else {16: 3, 32: 4, 64: 10}
    kernels = {}
    for name, (fn, kind, _) in VARIANTS.items():
        for _, c, _ in cases:
            kernels[(name, c)] = {"bmm": "bmm + softmax (full N×N map)",
                                  "chunk": f"bmm + softmax ({CHUNK}×N blocks)"}.get(kind) or \
                sdpa_kernel_of(fn, c)
    rows, results = [], {"batch": batch, "channels": next(c for res, c, _ in cases if res == 64)}
    load0, t_table = m.loadavg(), time.perf_counter()
    torch.manual_seed(0)
    for res, c, b in cases:
        n = res * res
        layer = SelfAttention(c)
        with torch.no_grad():
            layer.gamma.fill_(0.5)
        d = layer.qk_channels
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
                reason = _skip_reason(name, mode, res, size, full, quick)
                if reason:
                    skipped[name] = reason
                else:
                    fns[name] = _caller(fn, layer, x, mode)
            diffs = {}  # correctness vs explicit (forward, up to 32x32) from one extra call
            if mode == "fwd" and res <= 32:
                with torch.inference_mode():
                    ref = layer.attend_explicit(x)[0]
                    for name, (fn, _, _) in VARIANTS.items():
                        if name in fns and name != EXPLICIT:
                            diffs[name] = float((fn(layer, x) - ref).abs().max())
                    del ref
            samples, peaks = m.interleaved(fns, reps[res], budget[res], memory=True)
            m.trim()
            base = m.p50(samples.get(EXPLICIT, []))
            for name in VARIANTS:
                key = (res, mode, name)
                if name in fns:
                    t = m.p50(samples[name])
                    results[key] = {"p50": t, "peak": peaks[name], "n": len(samples[name])}
                    rows.append([f"{res}×{res}", c, b, mode, name, kernels[(name, c)], m.ms(t),
                                 len(samples[name]), m.mib(peaks[name]),
                                 m.mib(mapsize[name]) if mapsize[name] else "none",
                                 m.ratio(base, t) if math.isfinite(base) else "–",
                                 f"{diffs[name]:.1e}" if name in diffs else ""])
                else:
                    rows.append([f"{res}×{res}", c, b, mode, name, kernels[(name, c)], skipped[name],
                                 "", "", m.mib(mapsize[name]) if mapsize[name] else "none", "", ""])
    header = ["map", "C", "batch", "pass", "path", "kernel actually used", "p50 ms", "n",
              "peak mem", "largest N-sized tensor (theory)", "speed vs explicit", "max |Δ| vs explicit"]
    text = ["## 1. Attention kernels", m.md_table(header, rows)]

    lines = []
    for name in (SHIPPED, MULTI, PADDED, CHUNKED):
        sp = [_get(results, 64, md, EXPLICIT) / _get(results, 64, md, name) for md in ("fwd", "fwd+bwd")]
        grow = _growth(results, name)
        known = [s for s in sp if math.isfinite(s)]
        fast_ok = all(s >= m.TARGET_FAST_SPEEDUP for s in known) if known else None
        grown = f"{grow:.1f}× ({m.verdict(grow < m.LINEAR_BELOW)})" if math.isfinite(grow) else "– (–)"
        lines.append(f"| {name} | " + " / ".join(f"{s:.2f}×" if math.isfinite(s) else "–" for s in sp)
                     + f" ({m.verdict(fast_ok)}) | {grown} |")
    text.append(
        f"Target: fast attention ≥ {m.TARGET_FAST_SPEEDUP:.0f}× faster than explicit at 64×64, with memory "
        f"linear in H·W (32×32 → 64×64 is 4× the positions, both at C = {results['channels']}: linear "
        f"growth ≈ 4×, quadratic ≈ 16×, so growth below {m.LINEAR_BELOW}× counts as linear; explicit "
        f"grows {_growth(results, EXPLICIT):.1f}×).\n\n"
        f"| path at 64×64, batch {batch} | speed-up vs explicit (fwd / fwd+bwd), target ≥ 2× | peak-mem "
        f"growth 32→64, linear if < {m.LINEAR_BELOW}× |\n"
        "|---|---|---|\n" + "\n".join(lines))
    text.append(
        f"Peak memory: {m.MEMORY_METHOD} (for calls over 2 s, measured on the first call). 'Largest "
        "N-sized tensor' is the theoretical size of the biggest attention-logit tensor a path builds "
        "(batch × heads × rows × N × 4 bytes; 'none' for the flash kernel, which works in blocks). A "
        f"path that builds the full map runs only while it is ≤ {m.mib(m.MAP_LIMIT)} (forward) / "
        f"{m.mib(m.MAP_LIMIT // 4)} (forward+backward, which keeps several). Multi-head split vs single "
        "head (the same maths; rows 'multi-head split' and 'single-head'): splitting v into C/d "
        "heads of width d that share q/k makes every head dim d, which the CPU flash kernel "
        "accepts; one SDPA head with q/k of width d and v of width C is not flash-eligible on CPU "
        "(it falls back to the math kernel, which forms the map); zero-padding q/k to C makes the "
        "single head eligible with identical logits, and it computes one N×N softmax instead of "
        f"C/d. 128×128 runs at batch 1, forward only. {m.load_note(load0)}")
    rep.add("\n\n".join(text), 1, t_table)
    return results


def _get(results: dict, res: int, mode: str, name: str, field: str = "p50") -> float:
    return results.get((res, mode, name), {}).get(field, float("nan"))


def _growth(results: dict, name: str) -> float:
    """Peak-memory growth of a path's forward from 32×32 to 64×64."""
    return _get(results, 64, "fwd", name, "peak") / _get(results, 32, "fwd", name, "peak")


def summary_rows(results: dict) -> list[list[str]]:
    """Table 1's lines of the targets at a glance."""
    sp = [_get(results, 64, md, EXPLICIT) / _get(results, 64, md, SHIPPED) for md in ("fwd", "fwd+bwd")]
    grow = _growth(results, SHIPPED)
    known = [x for x in sp if math.isfinite(x)]
    return [
        [f"sdpa_attention vs explicit at 64×64, batch {results['batch']}: speed",
         f"≥ {m.TARGET_FAST_SPEEDUP:.0f}× faster",
         " / ".join(f"{x:.2f}×" for x in known) + f" (fwd{' / fwd+bwd' if len(known) > 1 else ''})",
         m.verdict(all(x >= m.TARGET_FAST_SPEEDUP for x in known)) if known else "–", "table 1"],
        ["sdpa_attention: memory 32×32 → 64×64 (4× the positions)",
         f"linear (growth < {m.LINEAR_BELOW}×)",
         f"×{grow:.1f} (explicit ×{_growth(results, EXPLICIT):.1f})",
         m.verdict(grow < m.LINEAR_BELOW) if math.isfinite(grow) else "–", "table 1"],
    ]
