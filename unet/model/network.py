"""The pix2pix U-Net generator with SAGAN self-attention in its skip-connection blocks.

Layer recipe and state-dict layout follow junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``
(``model.model.1.model.3...``), so its checkpoints load into ours. Attention modules sit beside each
block's ``model`` Sequential (``...model.1.attention.gamma``), never inside it, so they do not shift
pix2pix's indices.

Resolutions: for an ``image_size`` S the block at depth k (the outermost is depth 0) receives and
returns S / 2**k pixels; its attention works on its decoder output at that size. With S = 128 and
``num_downs`` = 7 the non-outermost blocks work at 64, 32, 16, 8, 4 and 2 px, the bottleneck at 1 px.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError
from .attention import AttentionProcessor, SelfAttention
from .checkpoint import CONFIG_NAME, read_config, read_weights, resolve_checkpoint, write_checkpoint

NORM_LAYERS = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d}


def _norm_name(norm_layer) -> str:
    if isinstance(norm_layer, str):
        if norm_layer not in NORM_LAYERS:
            raise ValueError(f"unknown norm_layer {norm_layer!r}; expected one of {sorted(NORM_LAYERS)}")
        return norm_layer
    func = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
    for name, cls in NORM_LAYERS.items():
        if func is cls:
            return name
    raise ValueError(f"unsupported norm_layer {norm_layer!r}; use nn.BatchNorm2d or nn.InstanceNorm2d")


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: ``x -> cat([x, up(sub(down(x)))])``, optionally with self-attention.

    Same signature and layers as pix2pix's block; ``use_attention`` adds a ``SelfAttention`` on the
    block's decoder output (``outer_nc`` channels), ``style_dim`` (innermost only) widens the first
    decoder convolution so a style embedding can be concatenated to the bottleneck.
    """

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm_layer=nn.BatchNorm2d, use_dropout=False, use_attention=False,
                 style_dim=0):
        super().__init__()
        self.outermost = outermost
        self.innermost = innermost
        if isinstance(norm_layer, str):
            norm_layer = NORM_LAYERS[_norm_name(norm_layer)]
        use_bias = _norm_name(norm_layer) == "instance"
        if input_nc is None:
            input_nc = outer_nc
        if style_dim and not innermost:
            raise ValueError("style_dim is only meaningful for the innermost block")
        self.style_dim = style_dim
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)

        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            down = [downconv]
            up = [uprelu, upconv, nn.Tanh()]
            model = down + [submodule] + up
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc + style_dim, outer_nc, kernel_size=4, stride=2,
                                        padding=1, bias=use_bias)
            down = [downrelu, downconv]
            up = [uprelu, upconv, upnorm]
            model = down + up
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1,
                                        bias=use_bias)
            down = [downrelu, downconv, downnorm]
            up = [uprelu, upconv, upnorm]
            model = down + [submodule] + up + ([nn.Dropout(0.5)] if use_dropout else [])
        self.num_down_layers = len(down)
        self.model = nn.Sequential(*model)
        self.submodule = submodule  # same object as in self.model; not a second parameter set
        if use_attention and outermost:
            raise ValueError("the outermost block never gets attention (its output is the image)")
        self.attention = SelfAttention(outer_nc) if use_attention else None

    # pix2pix keeps the submodule only inside the Sequential; hide our alias from state_dict paths.
    def __setattr__(self, name, value):
        if name == "submodule":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The bottleneck features under this block (zi2zi's encoder output)."""
        h = self.model[: self.num_down_layers](x)
        return h if self.innermost else self.submodule.encode(h)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        h = self.model[: self.num_down_layers](x)
        if self.innermost:
            if self.style_dim:
                # style (B, E) broadcast over the bottleneck map: (B, inner + E, h, w)
                h = torch.cat([h, style[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1)
            h = self.model[self.num_down_layers:](h)
        else:
            h = self.submodule(h, style)
            h = self.model[self.num_down_layers + 1:](h)
        if self.attention is not None:
            h = self.attention(h)
        return h if self.outermost else torch.cat([x, h], 1)


class OutputBlur(nn.Module):
    """A fixed 3x3 binomial low-pass ([1, 2, 1] x [1, 2, 1] / 16) on the generated image.

    A stride-2 transposed convolution computes each of its four output phases (even/odd row x
    column) with different kernel taps. Where the model is unsure (the end of a Kai stroke), the
    phases disagree and the image carries a period-2 ripple: a dotted checkerboard (Odena et al.,
    "Deconvolution and checkerboard artifacts", 2016). This filter has zero gain at that
    frequency, so the ripple cannot reach the output; StyleGAN blurs after upsampling for the same
    reason. No parameters: checkpoints keep their tensors, ``config.json`` says it is on.
    """

    def __init__(self):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None]) / 16, persistent=False)  # (3, 3)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        c = y.shape[1]
        weight = self.kernel.to(y.dtype).expand(c, 1, 3, 3)  # depthwise: (C, 1, 3, 3)
        return F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), weight, groups=c)


@dataclass
class UnetConfig:
    """Every constructor argument of ``UnetGenerator``; saved as ``config.json`` beside the weights."""

    input_nc: int = 1
    output_nc: int = 1
    num_downs: int = 7
    ngf: int = 64
    norm_layer: str = "batch"
    use_dropout: bool = False
    use_attention: bool | list[int] = False
    image_size: int | None = None
    num_styles: int = 0
    style_dim: int = 128
    max_mult: int = 8
    output_blur: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Level:
    depth: int
    resolution: int
    block: UnetSkipConnectionBlock = field(repr=False)


class UnetGenerator(nn.Module):
    """pix2pix's U-Net (same signature and state-dict layout) with optional attention and styles.

    Args beyond pix2pix's:
        use_attention: False, True (every non-outermost block, the seed's meaning) or an iterable of
            feature-map resolutions in pixels, e.g. {32, 16}. Blocks at 1x1 never get attention.
        image_size: the glyph size the resolutions refer to (default 2**num_downs).
        num_styles: 0 for the seed's unconditional model; K adds a learned style embedding of
            ``style_dim`` channels at the bottleneck, chosen per sample by index or blended by weights.
        max_mult: cap on the channel multiplier (pix2pix uses 8); lower it for a smaller model.
        output_blur: low-pass the image with a fixed 3x3 binomial filter (``OutputBlur``), which
            removes the checkerboard ripple of the last stride-2 transposed convolution.
    """

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d,
                 use_dropout=False, use_attention=False, image_size=None, num_styles=0,
                 style_dim=128, max_mult=8, output_blur=False):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5 (pix2pix's U-Net layout), got {num_downs}")
        if input_nc < 1 or output_nc < 1 or ngf < 1:
            raise ValueError(f"channel counts must be positive (input_nc={input_nc}, "
                             f"output_nc={output_nc}, ngf={ngf})")
        if max_mult < 1 or max_mult > 8 or max_mult & (max_mult - 1):
            raise ValueError(f"max_mult must be 1, 2, 4 or 8, got {max_mult}")
        image_size = 2 ** num_downs if image_size is None else int(image_size)
        if image_size % (2 ** num_downs):
            raise ValueError(f"image_size {image_size} is not divisible by 2**num_downs = {2 ** num_downs}")
        if num_styles < 0:
            raise ValueError(f"num_styles must be >= 0, got {num_styles}")
        wanted = self._attention_resolutions(use_attention, image_size, num_downs)
        self.config = UnetConfig(input_nc, output_nc, num_downs, ngf, _norm_name(norm_layer),
                                 bool(use_dropout),
                                 use_attention if isinstance(use_attention, bool) else sorted(wanted),
                                 image_size, num_styles, style_dim if num_styles else 0, max_mult,
                                 bool(output_blur))
        norm = NORM_LAYERS[self.config.norm_layer]
        sdim = self.config.style_dim

        def mult(m):
            return ngf * min(m, max_mult)

        def res(depth):
            return image_size // 2 ** depth

        def attn(depth):
            return res(depth) in wanted and res(depth) > 1

        depth = num_downs - 1
        block = UnetSkipConnectionBlock(mult(8), mult(8), norm_layer=norm, innermost=True,
                                        use_attention=attn(depth), style_dim=sdim)
        for _ in range(num_downs - 5):
            depth -= 1
            block = UnetSkipConnectionBlock(mult(8), mult(8), submodule=block, norm_layer=norm,
                                            use_dropout=use_dropout, use_attention=attn(depth))
        for outer, inner in ((4, 8), (2, 4), (1, 2)):
            depth -= 1
            block = UnetSkipConnectionBlock(mult(outer), mult(inner), submodule=block,
                                            norm_layer=norm, use_attention=attn(depth))
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                             outermost=True, norm_layer=norm)
        self.style_embedding = nn.Embedding(num_styles, sdim) if num_styles else None
        self.output_blur = OutputBlur() if output_blur else None
        for level in self.levels():  # each attention layer knows the map size it works on
            if level.block.attention is not None:
                level.block.attention.resolution = level.resolution

    @staticmethod
    def _attention_resolutions(use_attention, image_size: int, num_downs: int) -> set[int]:
        available = {image_size // 2 ** d for d in range(1, num_downs)}
        if use_attention is True:
            return available
        if use_attention is False or use_attention is None:
            return set()
        if isinstance(use_attention, (int, str)) or not isinstance(use_attention, Iterable):
            raise ValueError(f"use_attention must be a bool or a set of resolutions, got {use_attention!r}")
        wanted = {int(r) for r in use_attention}
        unknown = wanted - available
        if unknown:
            raise ValueError(f"no block works at resolution(s) {sorted(unknown)} for image_size "
                             f"{image_size} and num_downs {num_downs}; available: {sorted(available)}")
        return wanted

    def levels(self) -> Iterator[_Level]:
        """Blocks from the outermost inwards, with the feature-map size each works at."""
        block, depth = self.model, 0
        while block is not None:
            yield _Level(depth, self.config.image_size // 2 ** depth, block)
            block, depth = block.submodule, depth + 1

    def style_vector(self, style: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """Per-sample style embedding from indices (B,) or weights (B, K) / (K,) over styles."""
        if self.style_embedding is None:
            if style is not None:
                raise ValueError("this generator has no styles (num_styles=0) but a style was given")
            return None
        k = self.config.num_styles
        if style is None:
            if k == 1:
                style = torch.zeros(batch, dtype=torch.long, device=self.style_embedding.weight.device)
            else:
                raise ValueError(f"this generator has {k} styles: pass a style index or weights")
        style = torch.as_tensor(style, device=self.style_embedding.weight.device)
        if style.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
            style = style.long().reshape(-1).expand(batch) if style.numel() == 1 else style.long()
            if style.shape != (batch,):
                raise ValueError(f"style indices must have shape ({batch},), got {tuple(style.shape)}")
            if (style < 0).any() or (style >= k).any():
                raise ValueError(f"style index out of range 0..{k - 1}: {style.tolist()}")
            return self.style_embedding(style)
        weights = style.to(self.style_embedding.weight.dtype)
        if weights.dim() == 1:
            weights = weights.expand(batch, -1)
        if weights.shape != (batch, k):
            raise ValueError(f"style weights must have shape ({batch}, {k}), got {tuple(weights.shape)}")
        if not torch.isfinite(weights).all():
            raise ValueError("style weights must be finite numbers")
        return weights @ self.style_embedding.weight  # (B, K) @ (K, E) -> (B, E)

    def check_input(self, x: torch.Tensor) -> None:
        cfg = self.config
        if x.dim() != 4:
            raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
        if x.shape[1] != cfg.input_nc:
            raise ValueError(f"expected {cfg.input_nc} input channel(s), got {x.shape[1]}")
        step = 2 ** cfg.num_downs
        if x.shape[2] % step or x.shape[3] % step:
            raise ValueError(f"image size {x.shape[2]}x{x.shape[3]} is not divisible by "
                             f"2**num_downs = {step}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Bottleneck features (B, C, h, w): zi2zi's encoder output, used by the constant loss."""
        self.check_input(x)
        return self.model.encode(x)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        y = self.model(x, self.style_vector(style, x.shape[0]))  # (B, output_nc, S, S) in [-1, 1]
        return y if self.output_blur is None else self.output_blur(y)

    @classmethod
    def from_pretrained(cls, path_or_repo, device="cpu", revision=None) -> UnetGenerator:
        """Load from a checkpoint directory or a Hub repo id (see ``load_generator``)."""
        return load_generator(path_or_repo, device, revision)[0]

    def save_pretrained(self, directory, metadata: dict | None = None, dtype=None) -> Path:
        """Write a checkpoint directory (see ``save_generator``)."""
        return save_generator(self, directory, metadata, dtype)


def save_generator(model: UnetGenerator, directory: str | Path, metadata: dict | None = None,
                   dtype: torch.dtype | None = None) -> Path:
    """Write config.json (the constructor's arguments under ``"generator"``, plus ``metadata``) and
    model.safetensors (optionally cast, e.g. to float16)."""
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    return write_checkpoint(directory, {"generator": model.config.to_dict(), **(metadata or {})},
                            model.state_dict(), dtype)


def load_generator(path_or_repo: str | Path, device: str | torch.device = "cpu",
                   revision: str | None = None) -> tuple[UnetGenerator, dict, Path]:
    """Build the generator from config.json and load weights from safetensors, checking every tensor.

    Returns (model in eval mode, full config dict, resolved directory).
    """
    directory = resolve_checkpoint(path_or_repo, revision)
    config = read_config(directory)  # every field's type checked: only ranges can still be wrong
    g = UnetConfig(**config["generator"]).to_dict()  # defaults for keys an older config lacks
    try:
        model = UnetGenerator(**g)
    except ValueError as e:  # e.g. num_downs 3; the message names the argument
        raise CheckpointError(f"{directory / CONFIG_NAME}: generator: {str(e)[:200]}") from e
    model.load_state_dict(read_weights(directory, model.state_dict()))
    return model.to(device).eval(), config, directory


def attention_layers(model: UnetGenerator) -> dict[str, SelfAttention]:
    """Ordered ``{name: SelfAttention}``, outermost (largest map) first, named by feature-map size.

    Names like ``"32x32"`` depend only on the config, so they are stable across save/load.
    """
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    layers = (lv.block.attention for lv in model.levels())
    return {layer.name: layer for layer in layers if layer is not None}


def set_attention_processor(model: UnetGenerator, processor: AttentionProcessor) -> AttentionProcessor:
    """Compute every attention layer of ``model`` with ``processor``; returns the previous one."""
    layers = list(attention_layers(model).values())
    previous = layers[0].processor if layers else processor
    for layer in layers:
        layer.processor = processor
    return previous
