"""Table 5: training throughput with / without attention (unet/train/train.py's ``TrainStep``, both models
in this process, steps alternating), and the peak memory of one 256 px training step with attention
at 64x64 (a fresh process per row: ``python -m benchmarks _train256``)."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from unet import PatchDiscriminator, UnetGenerator, set_attention_processor
from unet.train.train import TrainStep, make_optimizers

from . import measure as m
from .attention_kernels import CANDIDATES

SHIPPED, NONE = "attention 32,16 (shipped)", "attention none"


def train_step(g: UnetGenerator, batch: int, ndf: int = 64, seed: int = 0) -> Callable[[], dict]:
    """One iteration of unet/train/train.py's loop (its ``TrainStep``: D on real and fake pairs, then G
    with every loss term at train's default weights; Adam; CPU, fp32) for ``g`` and a new
    discriminator, on random data of the dataset's shape. Returns ``step()``."""
    gen = torch.Generator().manual_seed(seed)
    k, size = g.config.num_styles, g.config.image_size
    d = PatchDiscriminator(2, ndf, num_styles=k)
    step = TrainStep(g.train(), d, *make_optimizers(g, d))
    src = torch.rand(batch, 1, size, size, generator=gen) * 2 - 1
    tgt = torch.rand(batch, 1, size, size, generator=gen) * 2 - 1
    style = torch.randint(k, (batch,), generator=gen)
    return lambda: step(src, tgt, style)


def shipped_train_generator(attention, ngf: int = 64) -> UnetGenerator:
    """The shipped checkpoint's architecture as unet.train builds it (its defaults: dropout on,
    style_dim 64), with random weights."""
    return UnetGenerator(1, 1, 7, ngf=ngf, max_mult=4, use_dropout=True, use_attention=attention,
                         image_size=128, num_styles=3, style_dim=64)


def train256_child(argv: list[str]) -> None:
    """One training step of the 256 px config in a fresh process; prints JSON."""
    p = argparse.ArgumentParser(prog="python -m benchmarks _train256")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--candidate", choices=list(CANDIDATES), default=None)
    p.add_argument("--attention", default="64,32,16")
    a = p.parse_args(argv)
    rss_import = m.status_bytes("VmRSS")
    torch.manual_seed(0)
    att = {int(t) for t in a.attention.split(",")} if a.attention != "none" else False
    g = UnetGenerator(1, 1, 8, ngf=64, max_mult=4, use_attention=att, image_size=256, num_styles=3,
                      use_dropout=True)
    if a.candidate:
        set_attention_processor(g, CANDIDATES[a.candidate][1])
    step = train_step(g, a.batch)
    with m.PeakMemory() as pm:
        t = m.timed(step)
    print(json.dumps({"batch": a.batch, "candidate": a.candidate, "attention": a.attention,
                      "rss_after_import": rss_import, "rss_before_step": pm.base, "peak_rss": pm.peak,
                      "step_delta": pm.delta, "step_s": t,
                      "params_g": sum(p.numel() for p in g.parameters())}))


def _memory_rows(variants) -> tuple[list[list], dict[int, int]]:
    """One fresh process per 256 px variant: its table rows, and the memory used per batch size."""
    rows, per_batch = [], {}
    for label, att, b in variants:
        cmd = [sys.executable, "-m", "benchmarks", "_train256", "--batch", str(b), "--attention", att]
        try:
            r = subprocess.run(cmd, cwd=m.REPO, capture_output=True, text=True, timeout=400)
            res = json.loads(r.stdout.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as e:
            rows.append([label, b, "failed", "", "", "", str(e)[:100]])
            continue
        used = res["peak_rss"] - res["rss_after_import"]
        if att == "64,32,16":
            per_batch[b] = used
        target = f"≤ {m.TARGET_256_GIB:.0f} GiB: {m.verdict(used <= m.TARGET_256_GIB * m.GiB)}"
        rows.append([label, b, f"{res['step_s']:.1f}", m.mib(res["step_delta"]), m.mib(used),
                     m.mib(res["peak_rss"]), target])
    return rows, per_batch


def table_training(rep: m.Report, quick: bool, tiny: bool = False) -> dict:
    load0, t_table = m.loadavg(), time.perf_counter()
    text = ["## 5. Training"]
    batch = 8 if not quick else 2
    rounds = 3 if not quick else 1
    ngf = 4 if tiny else 64
    configs = {SHIPPED: [32, 16], NONE: False}
    fns = {}
    for label, att in configs.items():
        torch.manual_seed(0)
        fns[label] = train_step(shipped_train_generator(att, ngf), batch, ndf=ngf)
    samples = m.interleaved(fns, rounds, budget_s=math.inf, cold_threshold_s=math.inf)  # warm-up discarded
    del fns
    m.trim()
    sps = {k: batch / m.p50(v) for k, v in samples.items()}
    none = sps[NONE]
    rows = []
    for label, v in samples.items():
        slow = none / sps[label]
        target = f"≤ {m.TARGET_TRAIN_RATIO}×: {m.verdict(slow <= m.TARGET_TRAIN_RATIO)}"
        rows.append([label, f"{sps[label]:.2f}", m.ms(m.p50(v)), len(v), f"{slow:.2f}×",
                     target if label != NONE else ""])
    text.append(m.md_table([f"128 px, ngf {ngf}, max_mult 4, batch {batch}", "samples/s", "step p50 ms",
                            "steps", "time per sample ÷ no attention", "target"], rows))
    text.append(
        "Both generators live in this process and their training steps alternate (A B A B …) after "
        "one discarded warm-up step each, so load from other processes hits both alike. The step is "
        "unet/train/train.py's `TrainStep` (D update on real and fake pairs; G with GAN + L1 + constant + "
        "category losses at its default weights; Adam) on random tensors of the dataset's shape, with "
        "the shipped architecture as `unet.train` builds it (dropout, style_dim 64; fp32, as "
        "unet.train runs on CPU).")
    result = {"ratio": none / sps[SHIPPED], "batch": batch, "mem256": {}}
    if quick:  # one 256 px step takes 10-20 s here: full run only
        text.append(f"(256 px training-step memory: run without --quick.) {m.load_note(load0)}")
        rep.add("\n\n".join(text), 5, t_table)
        return result
    rows, result["mem256"] = _memory_rows([
        ("attention 64,32,16", "64,32,16", 4), ("attention 64,32,16", "64,32,16", 8),
        ("attention 32,16 (no 64×64 layer)", "32,16", 8)])
    text.append(m.md_table(["256 px, ngf 64, max_mult 4, 3 styles: one training step", "batch", "step s",
                          "peak above pre-step RSS", "peak above RSS after `import torch` (weights, "
                          "Adam, activations)", "process peak RSS", "target"], rows))
    fit = ""
    if len(result["mem256"]) >= 2:
        (b1, m1), (b2, m2) = sorted(result["mem256"].items())[:2]
        slope = (m2 - m1) / (b2 - b1)
        fixed = m1 - slope * b1
        fit = (f" From the two batch sizes: ≈ {m.mib(slope)} per sample + {m.mib(fixed)} fixed, so 8 GiB "
               f"is reached near batch {(m.TARGET_256_GIB * m.GiB - fixed) / slope:.0f} (fp32, CPU).")
    text.append(
        "Each 256 px row is a fresh process that builds G (UnetGenerator(1, 1, 8, ngf=64, "
        "max_mult=4, use_attention={64,32,16}, image_size=256, num_styles=3), dropout on) and D and "
        f"runs one step of the same loop. Memory: {m.MEMORY_METHOD}. This is CPU memory in fp32; on a "
        "GPU the same tensors would be allocated (plus cuDNN workspaces, minus what bf16 autocast "
        f"saves), so it is a proxy for the 8 GiB target.{fit} {m.load_note(load0)}")
    rep.add("\n\n".join(text), 5, t_table)
    return result


def summary_rows(results: dict) -> list[list[str]]:
    """Table 5's lines of the targets at a glance."""
    rows = [[f"training time with ÷ without attention (batch {results['batch']})",
             f"≤ {m.TARGET_TRAIN_RATIO}×", f"{results['ratio']:.2f}×",
             m.verdict(results["ratio"] <= m.TARGET_TRAIN_RATIO), "table 5"]]
    if results["mem256"]:
        b, used = max(results["mem256"].items())
        rows.append(["256 px, attention at 64×64: one training step", f"≤ {m.TARGET_256_GIB:.0f} GiB",
                     f"{m.mib(used)} at batch {b}", m.verdict(used <= m.TARGET_256_GIB * m.GiB), "table 5"])
    return rows
