"""Train the generator: ``python -m unet.train --data DATASET_DIR --out RUN_DIR``.

pix2pix losses (L1 x100 + conditional PatchGAN) plus, for several styles, zi2zi's style-classifier
(category) loss and constant (encoder-consistency) loss. Single process by default (CUDA when
present, bf16 autocast there); ``torchrun --nproc_per_node N -m unet.train ...`` runs
DistributedDataParallel (NCCL on GPUs, gloo on CPUs).

Discriminator collapse (d_loss -> 0 while the generator's outputs fade to blank) is detected in the
log (an ``"event": "collapse_warning"`` line). Remedy used by default: one-sided label smoothing and
skipping the discriminator's update while its loss is below ``--d-skip-below``, so it cannot run away.

A run directory holds ``config.json`` (the resolved arguments), ``log.jsonl``, ``samples/`` (held-out
sheets), ``state.pt`` (everything ``--resume`` needs: weights, optimisers, step, RNG) and
``generator/`` (a loadable checkpoint).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..model import PatchDiscriminator, UnetGenerator, load_generator, save_generator
from .data import GlyphPairs


@dataclass(frozen=True)
class LossWeights:
    """The loss terms of one training step; ``python -m unet.train`` flags default to these."""

    l1: float = 100.0
    gan: float = 1.0
    category: float = 1.0  # zi2zi's style classifier (several styles only)
    const: float = 15.0  # zi2zi's encoder consistency
    real_label: float = 0.9  # one-sided label smoothing for real pairs
    edge: float = 0.0  # L1 between horizontal/vertical pixel differences (penalises speckle)
    pyramid: float = 0.0  # L1 between 2x, 4x and 8x average-pooled images (stroke-level shape)

    @property
    def uses_discriminator(self) -> bool:
        return self.gan > 0 or self.category > 0


def edge_l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L1 between the images' pixel differences: a checkerboard has large ones, a real glyph none."""
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731  (B, 1, S, S-1)
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731  (B, 1, S-1, S)
    return (dx(fake) - dx(real)).abs().mean() + (dy(fake) - dy(real)).abs().mean()


def pyramid_l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean L1 between 2x, 4x and 8x average-pooled images."""
    return sum((F.avg_pool2d(fake, k) - F.avg_pool2d(real, k)).abs().mean() for k in (2, 4, 8)) / 3


def set_train_mode(g: nn.Module, freeze_bn: bool = False, freeze_dropout: bool = False) -> None:
    """Training mode, except that with ``freeze_bn`` every BatchNorm normalises with its running
    statistics and keeps them, and with ``freeze_dropout`` dropout is off: as inference runs."""
    g.train()
    for m in g.modules():
        if (freeze_bn and isinstance(m, nn.modules.batchnorm._BatchNorm)) or (
                freeze_dropout and isinstance(m, nn.Dropout)):
            m.eval()


class TrainStep:
    """One iteration of the training loop, shared by ``main`` and the benchmark suite.

    D is updated on real and fake pairs in one forward (DDP needs one forward/backward), unless
    ``update_d`` is False; then G with GAN + L1 (+ constant, category, edge and pyramid) losses.
    Without GAN and category weights D is not run at all. ``g`` and ``d`` may be DDP-wrapped;
    ``encoder`` is the bare generator whose ``encode`` the constant loss uses. ``freeze_bn`` and
    ``freeze_dropout`` train G with BatchNorm and dropout as inference runs them.
    """

    def __init__(self, g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, losses: LossWeights = LossWeights(),
                 autocast: Callable[[], AbstractContextManager] = nullcontext,
                 encoder: UnetGenerator | None = None, freeze_bn: bool = False,
                 freeze_dropout: bool = False):
        self.g, self.d, self.opt_g, self.opt_d, self.w = g, d, opt_g, opt_d, losses
        self.autocast = autocast
        self.encoder = encoder or g
        self.freeze_bn, self.freeze_dropout = freeze_bn, freeze_dropout

    def __call__(self, src: torch.Tensor, tgt: torch.Tensor, style: torch.Tensor,
                 update_d: bool = True) -> dict[str, torch.Tensor]:
        """src, tgt (B, 1, S, S) in [-1, 1], style (B,) indices -> detached losses and ``fake``."""
        w = self.w
        set_train_mode(self.g, self.freeze_bn, self.freeze_dropout)
        zero = torch.zeros((), device=src.device)
        with self.autocast():
            fake = self.g(src, style)
        d_loss = g_gan = zero
        if w.uses_discriminator:
            d_loss = self._update_d(src, tgt, fake, style, update_d)
        with self.autocast():
            cls_fake = None
            if w.uses_discriminator:
                pred_fake, cls_fake = self.d(torch.cat([src, fake], 1))
                g_gan = gan_loss(pred_fake, True)
            fake32 = fake.float()
            l1 = (fake32 - tgt).abs().mean()
            g_loss = w.gan * g_gan + w.l1 * l1
            const = cat = zero
            if w.const > 0:
                const = F.mse_loss(self.encoder.encode(fake).float(), self.encoder.encode(src).float())
                g_loss = g_loss + w.const * const
            if cls_fake is not None:
                cat = F.cross_entropy(cls_fake.float(), style)
                g_loss = g_loss + w.category * cat
            edge = edge_l1(fake32, tgt) if w.edge > 0 else zero
            pyramid = pyramid_l1(fake32, tgt) if w.pyramid > 0 else zero
            g_loss = g_loss + w.edge * edge + w.pyramid * pyramid
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"d": d_loss.detach(), "g_gan": g_gan.detach(), "l1": l1.detach(),
                "const": const.detach(), "cat": cat.detach(), "edge": edge.detach(),
                "pyramid": pyramid.detach(), "fake": fake.detach()}

    def _update_d(self, src, tgt, fake, style, update_d: bool) -> torch.Tensor:
        w = self.w
        with self.autocast():
            pred, cls = self.d(torch.cat([torch.cat([src, tgt], 1), torch.cat([src, fake.detach()], 1)]))
            pred_real, pred_fake = pred.chunk(2)
            d_loss = 0.5 * (gan_loss(pred_real, True, w.real_label) + gan_loss(pred_fake, False))
            if cls is not None:
                d_loss = d_loss + w.category * F.cross_entropy(cls.float(), style.repeat(2))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        if update_d:
            self.opt_d.step()
        return d_loss.detach()


def make_optimizers(g: nn.Module, d: nn.Module, lr: float = 2e-4, beta1: float = 0.5):
    """pix2pix's Adam for G and D."""
    return (torch.optim.Adam(g.parameters(), lr=lr, betas=(beta1, 0.999)),
            torch.optim.Adam(d.parameters(), lr=lr, betas=(beta1, 0.999)))


def parse_attention(text: str):
    text = text.strip().lower()
    if text in ("all", "true"):
        return True
    if text in ("none", "false", ""):
        return False
    return sorted({int(t) for t in text.split(",")})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m unet.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--data", required=True, help="dataset directory made by python -m unet.data")
    a("--out", required=True, help="run directory")
    a("--resume", action="store_true", help="continue from OUT/state.pt exactly where it stopped")
    a("--init", default=None, help="fine-tune: start the generator from this checkpoint (its "
      "architecture replaces the model flags; its styles must be the dataset's)")
    a("--freeze-bn", action="store_true",
      help="BatchNorm uses and keeps its running statistics, as inference does (for fine-tuning)")
    a("--freeze-dropout", action="store_true", help="dropout off while training, as at inference")
    a("--output-blur", action="store_true",
      help="fixed binomial low-pass on the generated image (removes transposed-conv checkerboard); "
      "with --init it is added to the loaded model")
    # model
    a("--ngf", type=int, default=64)
    a("--max-mult", type=int, default=4, help="cap on the channel multiplier (pix2pix: 8)")
    a("--attention", default="32,16", help="'all', 'none' or feature-map sizes, e.g. 32,16")
    a("--dropout", action=argparse.BooleanOptionalAction, default=True)
    a("--style-dim", type=int, default=64)
    a("--ndf", type=int, default=64)
    # optimisation
    a("--steps", type=int, default=20000)
    a("--batch-size", type=int, default=64, help="per process")
    a("--lr", type=float, default=2e-4)
    a("--beta1", type=float, default=0.5)
    a("--decay-from", type=float, default=0.5, help="fraction of steps after which lr decays linearly to 0")
    a("--seed", type=int, default=0)
    a("--augment", type=float, default=0.0, help="paired random scale/shift amplitude (0 = off)")
    # losses
    w = LossWeights()
    a("--l1-weight", type=float, default=w.l1)
    a("--gan-weight", type=float, default=w.gan)
    a("--category-weight", type=float, default=w.category)
    a("--const-weight", type=float, default=w.const)
    a("--real-label", type=float, default=w.real_label, help="one-sided label smoothing for real pairs")
    a("--edge-weight", type=float, default=w.edge, help="L1 between pixel differences")
    a("--pyramid-weight", type=float, default=w.pyramid, help="L1 between 2x/4x/8x pooled images")
    a("--d-skip-below", type=float, default=0.2, help="skip D's update while its loss is below this")
    # bookkeeping
    a("--sample-every", type=int, default=1000)
    a("--log-every", type=int, default=50)
    a("--ckpt-minutes", type=float, default=10.0)
    a("--time-limit", type=float, default=0.0, help="stop (and save) after this many minutes; 0 = none")
    a("--stop-after", type=int, default=0, help="stop (and save) after this many steps in this invocation")
    a("--device", default=None, help="cpu or cuda (default: cuda when available)")
    a("--amp", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast on CUDA")
    a("--no-progress", action="store_true")
    return p


def setup_distributed(device_arg):
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device_arg is None else device_arg.startswith("cuda")
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    return world, rank, device


def lr_factor(step: int, total: int, decay_from: float) -> float:
    start = int(total * decay_from)
    return 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1, total - start))


def gan_loss(logits: torch.Tensor, real: bool, real_label: float = 1.0) -> torch.Tensor:
    target = torch.full_like(logits, real_label if real else 0.0)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def rng_state(gen: torch.Generator) -> dict:
    """Every random stream the loop draws from: batch sampling/augmentation and dropout."""
    state = {"torch": torch.get_rng_state(), "sampler": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["sampler"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def sample_sheet(g: UnetGenerator, data: GlyphPairs, device, n: int = 12):
    """Held-out characters: per style rows of source / generated / real, as one PIL image."""
    from ..engine.visualize import glyph_sheet

    idx = data.heldout_index[:n]
    src = GlyphPairs.to_unit(data.source[idx]).to(device)
    rows = [("source", src)]
    was_training = g.training
    g.eval()
    with torch.no_grad():
        for k, name in enumerate(data.styles):
            style = torch.full((len(idx),), k, dtype=torch.long, device=device)
            rows.append((name, g(src, style).float()))
            rows.append(("real", GlyphPairs.to_unit(data.targets[k, idx]).to(device)))
    g.train(was_training)
    return glyph_sheet([(label, [t for t in imgs]) for label, imgs in rows],
                       [data.chars[i] for i in idx.tolist()])[0]


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    world, rank, device = setup_distributed(args.device)
    out = Path(args.out)
    is_main = rank == 0
    if is_main:
        (out / "samples").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed + rank)

    data = GlyphPairs(args.data, device)
    k = len(data.styles)
    num_downs = int(math.log2(data.size))
    if args.init:
        g, init_config, _ = load_generator(args.init, device)
        init_styles = [st["name"] for st in init_config.get("styles", [])]
        if init_styles != data.styles:
            raise SystemExit(f"--init has styles {init_styles}, the dataset {data.styles}")
        if args.output_blur and not g.config.output_blur:  # a parameter-free layer: same weights
            weights = g.state_dict()
            g = UnetGenerator(**{**g.config.to_dict(), "output_blur": True}).to(device)
            g.load_state_dict(weights)
    else:
        g = UnetGenerator(1, 1, num_downs, ngf=args.ngf, use_dropout=args.dropout,
                          use_attention=parse_attention(args.attention), image_size=data.size,
                          num_styles=k, style_dim=args.style_dim, max_mult=args.max_mult,
                          output_blur=args.output_blur).to(device)
    d = PatchDiscriminator(2, args.ndf, num_styles=k if k > 1 and args.category_weight > 0 else 0).to(device)
    opt_g, opt_d = make_optimizers(g, d, args.lr, args.beta1)
    sampler = torch.Generator(device="cpu")
    sampler.manual_seed(args.seed * 1000 + rank)
    step = 0
    resumed = None
    if args.resume and (out / "state.pt").is_file():
        state = torch.load(out / "state.pt", map_location=device, weights_only=True)
        g.load_state_dict(state["g"])
        d.load_state_dict(state["d"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        step = int(state["step"])
        resumed = state
        set_rng_state({kk: (v.cpu() if torch.is_tensor(v) else v) for kk, v in state["rng"][rank].items()},
                      sampler)
    g_core, d_core = g, d
    if world > 1:
        ddp_kw = {"device_ids": [device.index]} if device.type == "cuda" else {}
        g = nn.parallel.DistributedDataParallel(g, **ddp_kw)
        d = nn.parallel.DistributedDataParallel(d, **ddp_kw)
    if is_main:
        config = {**vars(args), "world_size": world, "styles": data.styles, "dataset": data.meta,
                  "generator": g_core.config.to_dict()}
        (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))

    amp = args.amp and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else (
        lambda: torch.autocast("cpu", enabled=False))
    train_step = TrainStep(g, d, opt_g, opt_d, LossWeights(args.l1_weight, args.gan_weight,
                                                           args.category_weight, args.const_weight,
                                                           args.real_label, args.edge_weight,
                                                           args.pyramid_weight),
                           autocast, g_core, freeze_bn=args.freeze_bn,
                           freeze_dropout=args.freeze_dropout)
    log_file = open(out / "log.jsonl", "a") if is_main else None
    from tqdm.auto import tqdm

    bar = tqdm(total=args.steps, initial=step, disable=not is_main or args.no_progress,
               dynamic_ncols=True)
    t_start = time.time()
    first_step = step
    last_ckpt = time.time()
    def empty_window():
        return dict.fromkeys(("d", "g_gan", "l1", "const", "cat", "edge", "pyramid", "d_skipped", "fake_ink",
                              "real_ink", "n"), 0.0)

    window = empty_window()
    t_window = time.time()
    d_ema = None
    skip_d = False
    if resumed is not None and float(resumed["d_ema"]) >= 0:
        d_ema = resumed["d_ema"].to(device).float()
        skip_d = bool(resumed["skip_d"])

    def save_all():
        if not is_main:
            return
        rng = [rng_state(sampler)]
        if world > 1:
            gathered = [None] * world
            dist.gather_object(rng[0], gathered, dst=0)
            rng = gathered
        state = {"g": g_core.state_dict(), "d": d_core.state_dict(), "opt_g": opt_g.state_dict(),
                 "opt_d": opt_d.state_dict(), "step": step, "rng": rng,
                 "d_ema": torch.as_tensor(float(d_ema) if d_ema is not None else -1.0),
                 "skip_d": torch.as_tensor(skip_d)}
        tmp = out / "state.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, out / "state.pt")
        save_generator(g_core, out / "generator", metadata=checkpoint_metadata(data))
        shutil.copy(data.root / "train.txt", out / "generator" / "training_chars.txt")
        shutil.copy(data.root / "heldout.txt", out / "generator" / "heldout_chars.txt")

    def sync_save():
        if world > 1 and not is_main:
            dist.gather_object(rng_state(sampler), None, dst=0)
        else:
            save_all()

    while step < args.steps:
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = args.lr * lr_factor(step, args.steps, args.decay_from)
        idx = torch.randint(len(data.train_pairs), (args.batch_size,), generator=sampler)
        src, tgt, style = data.batch(idx.to(device), args.augment,
                                     sampler if args.augment > 0 else None)
        losses = train_step(src, tgt, style, update_d=not skip_d)
        fake, d_loss = losses["fake"], losses["d"]
        step += 1
        bar.update(1)

        # running sums stay on the device; they are read (one sync) every few steps only
        d_val = d_loss.detach().float()
        d_ema = d_val if d_ema is None else 0.98 * d_ema + 0.02 * d_val
        for key, val in (("d", d_val), ("g_gan", losses["g_gan"]), ("l1", losses["l1"]),
                         ("const", losses["const"]), ("cat", losses["cat"]), ("edge", losses["edge"]),
                         ("pyramid", losses["pyramid"]),
                         ("fake_ink", (fake < 0).float().mean()),
                         ("real_ink", (tgt < 0).float().mean())):
            window[key] = window[key] + val.detach().float()
        window["d_skipped"] += int(skip_d)
        window["n"] += 1
        if step % 10 == 0:  # the discriminator-skip decision is refreshed every 10 steps
            skip_d = args.d_skip_below > 0 and float(d_ema) < args.d_skip_below
        if step % args.log_every == 0 or step == args.steps:
            n = window.pop("n")
            rec = {kk: float(v) / n for kk, v in window.items()}
            rec.update(step=step, lr=opt_g.param_groups[0]["lr"], d_ema=float(d_ema),
                       samples_per_s=n * args.batch_size * world / (time.time() - t_window),
                       elapsed_s=time.time() - t_start)
            if is_main:
                log_file.write(json.dumps(rec) + "\n")
                collapsed = train_step.w.uses_discriminator and rec["d"] < 0.05
                if collapsed or rec["fake_ink"] < 0.2 * rec["real_ink"]:
                    log_file.write(json.dumps({"step": step, "event": "collapse_warning",
                                               "d": rec["d"], "fake_ink": rec["fake_ink"],
                                               "real_ink": rec["real_ink"]}) + "\n")
                log_file.flush()
                bar.set_postfix(d=f"{rec['d']:.3f}", g=f"{rec['g_gan']:.2f}", l1=f"{rec['l1']:.4f}",
                                sps=f"{rec['samples_per_s']:.0f}")
            window = empty_window()
            t_window = time.time()
        if is_main and args.sample_every and step % args.sample_every == 0:
            sample_sheet(g_core, data, device).save(out / "samples" / f"step{step:07d}.png")
        over_time = bool(args.time_limit and (time.time() - t_start) > args.time_limit * 60)
        over_time |= bool(args.stop_after and step - first_step >= args.stop_after)
        if world > 1:
            flag = torch.tensor([int(bool(over_time))], device=device)
            dist.all_reduce(flag)
            over_time = bool(flag.item())
        if time.time() - last_ckpt > args.ckpt_minutes * 60 or over_time:
            sync_save()
            last_ckpt = time.time()
        if over_time:
            break
    sync_save()
    if is_main:
        log_file.write(json.dumps({"event": "done", "step": step,
                                   "wall_s": time.time() - t_start}) + "\n")
        log_file.close()
    bar.close()
    if world > 1:
        dist.destroy_process_group()


def checkpoint_metadata(data: GlyphPairs) -> dict:
    spec = data.meta["spec"]
    return {"glyphs": {"size": data.size, "source": spec["source"]},
            "styles": [{"name": n, "font": spec["targets"][n]} for n in data.styles],
            "dataset": {k: data.meta[k] for k in ("num_train", "num_heldout", "per_style_train")},
            "training_chars_file": "training_chars.txt", "heldout_chars_file": "heldout_chars.txt"}


if __name__ == "__main__":
    main()
