"""SAGAN self-attention, with the attention computation as a swappable *processor*.

A processor is a plain function ``(layer, x) -> attend(x)`` of shape (B, C, H, W). Two ship here and
compute the same function: ``sdpa_attention`` (the default: ``scaled_dot_product_attention`` never
materialises the (B, N, N) map, so memory grows linearly in N = H*W) and ``explicit_attention`` (the
textbook bmm/softmax/bmm, for reference). Benchmarks and experiments set their own function on a
layer (``layer.processor = fn``) instead of patching the class: diffusers' processor idea, without
a class per variant.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

AttentionProcessor = Callable[["SelfAttention", torch.Tensor], torch.Tensor]


def explicit_attention(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """Reference processor: forms the (B, N, N) map."""
    return layer.attend_explicit(x)[0]


def sdpa_attention(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """Memory-efficient processor: the explicit result without forming the map.

    q and k (width d = C/8) are zero-padded to the value's width C: the logits q.k are unchanged,
    and with equal head dims SDPA can use its flash kernel (on CPU it needs them equal, otherwise it
    falls back to the math path, which forms the (B, N, N) map). One C-wide head measured faster
    than C/d heads of width d sharing q/k (BENCHMARKS.md, table 1).
    """
    b, c, h, w = x.shape
    # SDPA's CPU flash kernel also needs unit stride in the last dim (else: the math path).
    q, k, v = (t.contiguous() for t in layer.projections(x))  # (B, N, d), (B, N, d), (B, N, C)
    if c > q.shape[-1]:
        q = F.pad(q, (0, c - q.shape[-1]))  # (B, N, C), zeros beyond d
        k = F.pad(k, (0, c - k.shape[-1]))
    out = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], scale=1.0)[:, 0]  # (B, N, C)
    return out.transpose(1, 2).reshape(b, c, h, w)


class SelfAttention(nn.Module):
    """SAGAN self-attention: ``gamma * attend(x) + x`` with ``gamma`` initialised to 0.

    ``attend(x)_i = sum_j softmax_j(q_i . k_j) v_j`` over all H*W positions, with no 1/sqrt(d)
    scaling (as in SAGAN). ``query``/``key`` project to ``max(C // 8, 1)`` channels, ``value`` to C.
    ``resolution`` is the side of the feature map the layer works on (set by ``UnetGenerator``; None
    for a free-standing layer); ``processor`` computes ``attend``.
    """

    def __init__(self, in_channels: int, resolution: int | None = None,
                 processor: AttentionProcessor = sdpa_attention):
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"SelfAttention needs at least 1 input channel, got {in_channels}")
        self.in_channels = in_channels
        self.resolution = resolution
        self.processor = processor
        self.qk_channels = max(in_channels // 8, 1)
        self.query = nn.Conv2d(in_channels, self.qk_channels, kernel_size=1)
        self.key = nn.Conv2d(in_channels, self.qk_channels, kernel_size=1)
        self.value = nn.Conv2d(in_channels, in_channels, kernel_size=1)
        self.gamma = nn.Parameter(torch.zeros(1))

    @property
    def name(self) -> str:
        """How people and the UI call the layer: its feature-map size, e.g. ``"32x32"``."""
        if self.resolution is None:
            raise ValueError("this SelfAttention is not placed in a U-Net: it has no resolution")
        return f"{self.resolution}x{self.resolution}"

    def projections(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return q (B, N, d), k (B, N, d) and v (B, N, C) for x (B, C, H, W)."""
        return self.query_key(x) + (self.value(x).flatten(2).transpose(1, 2),)

    def query_key(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q (B, N, d) and k (B, N, d) only: all an attention map needs."""
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, d)
        k = self.key(x).flatten(2).transpose(1, 2)  # (B, N, d)
        return q, k

    @staticmethod
    def attention_map(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """softmax(q k^T) over keys: (B, N, N), each row sums to 1."""
        return torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-1)

    def attend_explicit(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference path: returns (attend(x) as (B, C, H, W), map (B, N, N))."""
        b, c, h, w = x.shape
        q, k, v = self.projections(x)
        attn = self.attention_map(q, k)  # (B, N, N)
        out = torch.bmm(attn, v)  # (B, N, C)
        return out.transpose(1, 2).reshape(b, c, h, w), attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * self.processor(self, x) + x

    def extra_repr(self) -> str:
        processor = getattr(self.processor, "__name__", type(self.processor).__name__)
        return (f"in_channels={self.in_channels}, qk_channels={self.qk_channels}, "
                f"resolution={self.resolution}, processor={processor}")
