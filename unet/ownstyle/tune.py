"""Teach the model a new style from a few hundred glyphs: a new style-embedding row, fine-tuned.

The base model gains one style row (``extend_styles``), started from the shipped style whose output
is nearest to the uploaded glyphs, or from the mean of the shipped rows when that is nearer. Which
parameters then move is ``TuneConfig.train``:

- ``"embedding"``: the new row only (the file is 256 bytes, the style rarely changes much);
- ``"lora"``: the row plus low-rank deltas (``LowRankDelta``) on every decoder convolution; merged
  into the weights afterwards, so a tuned style draws exactly as fast as a shipped one;
- ``"decoder"`` / ``"all"``: the row plus every decoder (or every) weight.

What each buys was measured (``python -m benchmarks.own_style``, README "Your own style"); the
default is the measured best. Training uses the one training step of ``unet.train`` (``TrainStep``)
with BatchNorm and dropout as inference runs them, L1 plus pooled L1, no discriminator. About 10 %
of the glyphs are held back and scored (SSIM, dithered rate) while it runs; the state with the best
held-back SSIM is the one kept.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ..errors import UserError
from ..model import UnetGenerator
from ..model.network import UnetSkipConnectionBlock
from ..train.metrics import glyph_metrics
from ..train.train import LossWeights, TrainStep

TRAIN_MODES = ("embedding", "lora", "decoder", "all")
MIN_GLYPHS = 20  # fewer uploaded glyphs cannot teach a style (and leave nothing to hold back)
HOLDOUT_SHARE = 0.1
MAX_HOLDOUT = 48  # held-back glyphs scored while training (each scoring pass draws them all)
SAMPLES = 8  # held-back glyphs a progress report shows
MAX_LORA_RANK = 64  # a style file with larger factors is refused (they would not be small)


class TuneError(UserError):
    """A fine-tune that cannot start: too few glyphs, a bad setting."""


@dataclass(frozen=True)
class TuneConfig:
    """How a style is taught. ``minutes`` bounds wall time; ``steps`` (benchmarks) bounds steps."""

    train: str = "lora"
    minutes: float = 10.0
    steps: int | None = None
    batch_size: int = 8
    lr: float = 2e-4  # weights (decoder / all)
    lora_lr: float = 2e-3
    lora_rank: int = 8
    embedding_lr: float = 1e-2
    init: str = "nearest"  # the nearest of the shipped rows and their mean, or always the "mean"
    pyramid: float = 100.0  # weight of the pooled L1 (stroke shape) beside L1 x 100
    augment: bool = False
    ema: float = 0.0  # > 0: score and keep an exponential moving average of the weights (decay per step)
    schedule: str = "constant"  # "cosine": learning rates fall to 5 % over the budget (time or steps)
    eval_every_s: float = 30.0
    seed: int = 0
    device: str = "cpu"  # "cuda" where there is a GPU (a Space's @spaces.GPU call)

    def __post_init__(self):
        if self.train not in TRAIN_MODES:
            raise TuneError(f"train must be one of {', '.join(TRAIN_MODES)}, got {self.train!r}")
        if self.init not in ("nearest", "mean"):
            raise TuneError(f"init must be 'nearest' or 'mean', got {self.init!r}")
        if self.schedule not in ("constant", "cosine"):
            raise TuneError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if not (isinstance(self.lora_rank, int) and 1 <= self.lora_rank <= MAX_LORA_RANK):
            raise TuneError(f"LoRA rank must be 1 to {MAX_LORA_RANK}, got {self.lora_rank!r}")
        if not (0.0 <= self.ema < 1.0):
            raise TuneError(f"ema must be in [0, 1), got {self.ema!r}")
        if not (0 < self.minutes <= 24 * 60) or not math.isfinite(self.minutes):
            raise TuneError(f"minutes must be in (0, 1440], got {self.minutes!r}")


@dataclass
class Progress:
    """What a running fine-tune reports: the page shows it, the benchmark logs it."""

    step: int
    elapsed_s: float
    budget_s: float
    loss: float
    heldout_ssim: float | None = None
    heldout_dithered: float | None = None
    best_ssim: float | None = None
    samples: np.ndarray | None = None  # (n, S, S) uint8: held-back glyphs as the style draws them now
    sample_index: list[int] | None = None  # which of the given glyphs ``samples`` are (their index)
    done: bool = False


@dataclass
class TunedStyle:
    """A finished fine-tune: the model (base + the new row, deltas merged) and what it measured."""

    model: UnetGenerator
    style_index: int  # the new row
    delta: dict[str, torch.Tensor]  # what a style file must carry (see ``unet.ownstyle.stylefile``)
    train: str
    lora_rank: int
    start_style: str
    chars: list[str]
    heldout_chars: list[str]
    heldout: dict  # glyph_metrics of the kept state on the held-back glyphs
    before: dict  # the same for the start style, before tuning
    steps: int
    seconds: float
    history: list[Progress] = field(default_factory=list)


# --- the model with one more style ------------------------------------------------------------------

def extend_styles(base: UnetGenerator, row: torch.Tensor) -> UnetGenerator:
    """A copy of ``base`` with one more style row (``row``: (E,)), every other weight equal."""
    cfg = base.config.to_dict()
    if not cfg["num_styles"]:
        raise TuneError("this model has no style embedding to add a style to")
    cfg["num_styles"] += 1
    model = UnetGenerator(**cfg)
    state = dict(base.state_dict())
    state["style_embedding.weight"] = torch.cat([state["style_embedding.weight"],
                                                 row.reshape(1, -1).to(state["style_embedding.weight"])])
    model.load_state_dict(state)
    return model.eval()


def decoder_modules(model: UnetGenerator) -> list[nn.Module]:
    """The layers after the bottleneck in every block: transposed convolutions, norms, attention."""
    out: list[nn.Module] = []
    for level in model.levels():
        block: UnetSkipConnectionBlock = level.block
        ups = block.model[block.num_down_layers if block.innermost else block.num_down_layers + 1:]
        out.extend(m for m in ups if any(True for _ in m.parameters()))
        if block.attention is not None:
            out.append(block.attention)
    return out


class LowRankDelta(nn.Module):
    """``W + (U @ V).reshape(W.shape)``: a rank-r change of a weight (LoRA), V starting at zero so
    the model starts exactly as the base. For a transposed convolution W is (in, out, k, k)."""

    def __init__(self, shape: Sequence[int], rank: int, generator: torch.Generator):
        super().__init__()
        rows, cols = shape[0], int(np.prod(shape[1:]))
        self.shape = tuple(shape)
        self.u = nn.Parameter(torch.randn(rows, rank, generator=generator) / math.sqrt(rows))  # (rows, r)
        self.v = nn.Parameter(torch.zeros(rank, cols))  # (r, cols)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + (self.u @ self.v).reshape(self.shape)


def lora_targets(model: UnetGenerator) -> dict[str, nn.Module]:
    """Decoder convolutions that get a low-rank delta, by their parameter-path prefix."""
    names = {id(m): n for n, m in model.named_modules()}
    return {names[id(m)]: m for m in decoder_modules(model)
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)) and m.weight.dim() == 4}


def add_lora(model: UnetGenerator, rank: int, seed: int = 0) -> dict[str, LowRankDelta]:
    gen = torch.Generator().manual_seed(seed)
    deltas = {}
    for name, module in lora_targets(model).items():
        delta = LowRankDelta(module.weight.shape, rank, gen)
        parametrize.register_parametrization(module, "weight", delta)
        deltas[name] = delta
    return deltas


def merge_lora(model: UnetGenerator) -> None:
    """Fold every low-rank delta into its weight: the tuned model is a plain ``UnetGenerator``."""
    for module in list(lora_targets(model).values()):
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)


# --- data ----------------------------------------------------------------------------------------

def to_unit(glyphs: np.ndarray) -> torch.Tensor:
    """(N, S, S) uint8, white paper -> (N, 1, S, S) float in [-1, 1]."""
    return torch.from_numpy(np.asarray(glyphs, dtype=np.float32) / 127.5 - 1.0)[:, None]


def split_holdout(n: int, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, held back): about HOLDOUT_SHARE of ``n`` held back, at least 2."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    k = min(MAX_HOLDOUT, max(2, round(n * HOLDOUT_SHARE)))
    return sorted(order[k:]), sorted(order[:k])


def jitter(src: torch.Tensor, tgt: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same small random scale and shift for a pair (B, 1, S, S): strokes land off the grid."""
    b = src.shape[0]
    scale = 1 + (torch.rand(b, generator=gen) * 0.12 - 0.08)  # 0.92 .. 1.04
    shift = (torch.rand(b, 2, generator=gen) - 0.5) * 0.08  # +- 2.5 px of 128
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(src.shape), align_corners=False)

    def warp(t):  # ink is 1 - t: zero padding outside the glyph is paper
        return 1 - F.grid_sample(1 - t, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    return warp(src), warp(tgt)


@torch.inference_mode()
def draw(model: UnetGenerator, src: torch.Tensor, style: int, batch: int = 16) -> np.ndarray:
    """(N, 1, S, S) in [-1, 1] -> (N, S, S) in [0, 1], as inference draws them."""
    model.eval()
    device = next(model.parameters()).device
    outs = [model(src[i:i + batch].to(device), torch.full((len(src[i:i + batch]),), style, dtype=torch.long,
                                                          device=device)).float().cpu()
            for i in range(0, len(src), batch)]
    return ((torch.cat(outs).clamp(-1, 1) + 1) / 2).squeeze(1).numpy()


def nearest_style(base: UnetGenerator, src: torch.Tensor, tgt: torch.Tensor, count: int = 24) -> int | None:
    """The shipped style whose output is nearest (L1) to the uploaded glyphs, or None when the mean
    of the shipped rows is nearer still (a face between them: cwTeX FangSong starts at SSIM 0.590
    from the mean, 0.560 from the nearest shipped style)."""
    shipped = base.config.num_styles
    with_mean = extend_styles(base, base.style_embedding.weight.detach().mean(0))  # row `shipped`
    real = ((tgt[:count] + 1) / 2).squeeze(1).numpy()  # (count, S, S) in [0, 1]
    errors = [np.abs(draw(with_mean, src[:count], k) - real).mean() for k in range(shipped + 1)]
    best = int(np.argmin(errors))
    return None if best == shipped else best


# --- the fine-tune ---------------------------------------------------------------------------------

def trainable(model: UnetGenerator, cfg: TuneConfig, resume=None) -> list[dict]:
    """Adam parameter groups for the chosen mode; everything else is frozen. ``resume`` (a
    ``StyleFile`` of the same mode) gives the starting deltas."""
    for p in model.parameters():
        p.requires_grad_(False)
    emb = model.style_embedding.weight
    emb.requires_grad_(True)
    groups = [{"params": [emb], "lr": cfg.embedding_lr}]
    if cfg.train == "lora":
        deltas = add_lora(model, cfg.lora_rank, cfg.seed)
        with torch.no_grad():
            for name, (u, v) in (resume.factors if resume is not None else {}).items():
                if deltas[name].u.shape == u.shape and deltas[name].v.shape == v.shape:
                    deltas[name].u.copy_(u)
                    deltas[name].v.copy_(v)
        params = [p for d in deltas.values() for p in d.parameters()]
        for p in params:
            p.requires_grad_(True)
        groups.append({"params": params, "lr": cfg.lora_lr})
    elif cfg.train in ("decoder", "all"):
        if resume is not None:
            with torch.no_grad():
                state = model.state_dict()
                for name, value in resume.weights.items():
                    state[name].copy_(value)
        modules = decoder_modules(model) if cfg.train == "decoder" else [model.model]
        params = list({id(p): p for m in modules for p in m.parameters()}.values())
        for p in params:
            p.requires_grad_(True)
        groups.append({"params": params, "lr": cfg.lr})
    return groups


def changed_tensors(model: UnetGenerator, base: UnetGenerator, cfg: TuneConfig) -> dict[str, torch.Tensor]:
    """What moved, for a style file: the new row, plus low-rank factors or the changed weights."""
    row = model.style_embedding.weight.detach()[-1:].clone()  # (1, E)
    out = {"style_row": row}
    if cfg.train == "lora":
        for name, module in lora_targets(model).items():
            delta = module.parametrizations.weight[0]
            out[f"lora.{name}.u"] = delta.u.detach().clone()
            out[f"lora.{name}.v"] = delta.v.detach().clone()
    elif cfg.train in ("decoder", "all"):
        base_state = base.state_dict()
        for name, value in model.state_dict().items():
            if name != "style_embedding.weight" and not torch.equal(value, base_state[name]):
                out[f"weight.{name}"] = value.detach().clone()
    return out


def cosine_factor(done: float) -> float:
    """The learning-rate factor of the cosine schedule when ``done`` of the budget is spent: 1 at
    the start, 0.05 at the end (large steps to find the style, small ones to settle it)."""
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, max(0.0, done))))


class MovingAverage:
    """An exponential moving average of some parameters (decay per step, warmed up as
    ``min(decay, (1 + n) / (10 + n))``): the average of the last few hundred steps draws smoother,
    less over-fitted glyphs than the last step does."""

    def __init__(self, params: dict[str, nn.Parameter], decay: float):
        self.params, self.decay, self.n = params, decay, 0
        self.avg = {name: p.detach().clone() for name, p in params.items()}

    @torch.no_grad()
    def update(self) -> None:
        self.n += 1
        keep = min(self.decay, (1 + self.n) / (10 + self.n))
        for name, p in self.params.items():
            self.avg[name].lerp_(p.detach(), 1 - keep)

    def state(self) -> dict[str, torch.Tensor]:
        return {name: t.clone() for name, t in self.avg.items()}

    @contextlib.contextmanager
    def swapped(self):
        """The model with the averaged weights in place, the trained ones back afterwards."""
        live = {name: p.detach().clone() for name, p in self.params.items()}
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(self.avg[name])
        try:
            yield
        finally:
            with torch.no_grad():
                for name, p in self.params.items():
                    p.copy_(live[name])


class Cancelled(Exception):
    """The visitor stopped the fine-tune (or left)."""


def tune_style(base: UnetGenerator, style_names: Sequence[str], source: np.ndarray, target: np.ndarray,
               chars: Sequence[str], cfg: TuneConfig = TuneConfig(),
               progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None,
               probe: Callable[[UnetGenerator, int, float, int], None] | None = None,
               resume=None) -> TunedStyle:
    """Fine-tune a new style on pairs ``source``/``target`` (N, S, S) uint8 for ``chars``.

    ``progress`` is called after every scoring pass; setting ``cancel`` stops at the next step
    (raising ``Cancelled``). ``probe(model, style_index, seconds, step)`` is called before every
    step (benchmarks score along the way with it). Time spent scoring, in ``progress`` and in
    ``probe`` is not counted in the budget. ``base`` is not modified.
    """
    n = len(chars)
    if n < MIN_GLYPHS:
        raise TuneError(f"{n} usable glyph(s): a style needs at least {MIN_GLYPHS}",
                        key="style.too_few", count=n, minimum=MIN_GLYPHS)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    src, tgt = to_unit(source), to_unit(target)  # (N, 1, S, S)
    train_idx, held_idx = split_holdout(n, cfg.seed)
    held_src, held_real = src[held_idx], target[held_idx].astype(np.float32) / 255.0

    rows = base.style_embedding.weight.detach()
    if resume is not None:
        cfg = replace(cfg, train=resume.train, lora_rank=resume.rank or cfg.lora_rank)
        start, row = None, resume.row
        before = glyph_metrics(draw(resume.build(base), held_src, rows.shape[0]), held_real)
    else:
        start = nearest_style(base, src[train_idx], tgt[train_idx]) if cfg.init == "nearest" else None
        row = rows[start] if start is not None else rows.mean(0)
    device = torch.device(cfg.device)
    model = extend_styles(base, row).to(device)
    k = model.config.num_styles - 1
    if resume is None:  # the new row as it starts, before any step
        before = glyph_metrics(draw(model, held_src, k), held_real)
    opt = torch.optim.Adam(trainable(model, cfg, resume), betas=(0.5, 0.999))
    step_fn = TrainStep(model, None, opt, None, LossWeights(gan=0.0, category=0.0, const=0.0,
                                                            pyramid=cfg.pyramid),
                        freeze_bn=True, freeze_dropout=True)

    trained = {name: p for name, p in model.named_parameters() if p.requires_grad}
    base_lrs = [g["lr"] for g in opt.param_groups]
    averaged = MovingAverage(trained, cfg.ema) if cfg.ema else None

    def snapshot() -> dict[str, torch.Tensor]:
        return averaged.state() if averaged else {n: p.detach().clone() for n, p in trained.items()}

    def score() -> tuple[dict, np.ndarray]:
        with averaged.swapped() if averaged else contextlib.nullcontext():
            drawn = draw(model, held_src, k)
        return glyph_metrics(drawn, held_real), drawn

    budget = cfg.minutes * 60
    t0 = time.perf_counter()
    best_ssim, best_state, best_metrics = -1.0, snapshot(), {}
    history: list[Progress] = []
    step, loss, last_eval = 0, float("nan"), 0.0
    style = torch.full((cfg.batch_size,), k, dtype=torch.long, device=device)
    order: list[int] = []
    paused = 0.0  # seconds spent scoring and reporting

    def elapsed() -> float:
        return time.perf_counter() - t0 - paused

    while True:
        now = elapsed()
        finished = (now >= budget) or (cfg.steps is not None and step >= cfg.steps)
        pause_start = time.perf_counter()
        if probe is not None:
            with averaged.swapped() if averaged else contextlib.nullcontext():
                probe(model, k, now, step)
        if finished or now - last_eval >= cfg.eval_every_s or step == 0:
            metrics, drawn = score()
            if metrics["ssim"] > best_ssim:
                best_ssim, best_state, best_metrics = metrics["ssim"], snapshot(), metrics
            report = Progress(step, now, budget, loss, metrics["ssim"], metrics["dithered"],
                              best_ssim, (drawn[:SAMPLES] * 255).round().astype(np.uint8),
                              list(held_idx[:SAMPLES]), finished)
            history.append(report)
            if progress is not None:
                progress(report)
            last_eval = now
        paused += time.perf_counter() - pause_start
        if finished:
            break
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if len(order) < cfg.batch_size:
            order += [train_idx[i] for i in torch.randperm(len(train_idx), generator=gen).tolist()]
        batch, order = order[:cfg.batch_size], order[cfg.batch_size:]
        s, t = src[batch], tgt[batch]
        if cfg.augment:
            s, t = jitter(s, t, gen)
        s, t = s.to(device), t.to(device)
        if cfg.schedule == "cosine":
            done = now / budget if cfg.steps is None else max(now / budget, step / cfg.steps)
            for group, lr in zip(opt.param_groups, base_lrs):
                group["lr"] = lr * cosine_factor(done)
        loss = float(step_fn(s, t, style[:len(batch)])["l1"])
        if averaged:
            averaged.update()
        step += 1
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in best_state:
                p.copy_(best_state[name])
    model = model.cpu()
    delta = changed_tensors(model, base, cfg)
    merge_lora(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return TunedStyle(model.eval(), k, delta, cfg.train, cfg.lora_rank if cfg.train == "lora" else 0,
                      style_names[start] if start is not None else ("file" if resume else "mean"), list(chars),
                      [chars[i] for i in held_idx], best_metrics, before, step, elapsed(), history)


# --- from an upload to training pairs ----------------------------------------------------------------

@dataclass
class Pairs:
    """Uploaded glyphs the source font also draws, with its renderings: what ``tune_style`` takes."""

    chars: list[str]
    source: np.ndarray  # (N, S, S) uint8
    target: np.ndarray  # (N, S, S) uint8
    not_in_source: list[str]  # uploaded characters the source font cannot draw (not usable)


def source_pairs(source_font, chars: Sequence[str], glyphs: np.ndarray, size: int,
                 limit: int | None = None) -> Pairs:
    """Pair each uploaded glyph with the source font's rendering of its character (at most
    ``limit`` pairs, in the upload's order)."""
    keep, missing = [], []
    for i, ch in enumerate(chars):
        if source_font.draws(ch):
            keep.append(i)
        else:
            missing.append(ch)
    keep = keep[:limit] if limit else keep
    use = [chars[i] for i in keep]
    src = np.stack([np.asarray(source_font.render(c, size), dtype=np.uint8) for c in use]) if use \
        else np.zeros((0, size, size), np.uint8)
    tgt = np.asarray(glyphs)[keep] if use else np.zeros((0, size, size), np.uint8)
    return Pairs(use, src, tgt, missing)
