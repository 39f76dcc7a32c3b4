"""Images for people: glyph sheets and attention heatmap overlays (PIL images / PNG bytes)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .glyphs import ASSETS


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """(1, S, S) or (S, S) in [-1, 1] -> grayscale PIL image."""
    arr = ((t.detach().float().cpu().squeeze().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return Image.fromarray(arr.numpy(), mode="L")


def to_image(x) -> Image.Image | None:
    if x is None or isinstance(x, Image.Image):
        return x
    return tensor_to_image(x)


@cache
def _label_font(size: int):
    for name in ("NotoSerifTC-Subset.otf",):
        path = ASSETS / "fonts" / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def glyph_sheet(rows: Sequence[tuple[str, Sequence]], chars: Sequence[str] | None = None,
                cell: int | None = None, label_width: int = 110) -> Image.Image:
    """A labelled grid: one row per (label, glyphs); a glyph may be None (drawn as an empty cell)."""
    images = [[to_image(g) for g in glyphs] for _, glyphs in rows]
    size = cell or next((im.size[0] for r in images for im in r if im is not None), 64)
    ncols = max((len(r) for r in images), default=0)
    header = 18 if chars else 0
    pad = 2
    sheet = Image.new("RGB", (label_width + ncols * (size + pad), header + len(rows) * (size + pad)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    font = _label_font(13)
    if chars:
        for j, ch in enumerate(chars):
            draw.text((label_width + j * (size + pad) + size // 2, 2), f"U+{ord(ch):04X}",
                      fill=(120, 120, 120), font=ImageFont.load_default(10), anchor="mt")
    for i, ((label, _), imgs) in enumerate(zip(rows, images)):
        y = header + i * (size + pad)
        draw.text((4, y + size // 2 - 8), str(label)[:20], fill=(40, 40, 40), font=font)
        for j, im in enumerate(imgs):
            x = label_width + j * (size + pad)
            if im is None:
                draw.rectangle([x, y, x + size - 1, y + size - 1], outline=(220, 220, 220))
                draw.line([x, y, x + size - 1, y + size - 1], fill=(220, 220, 220))
            else:
                sheet.paste(im.convert("RGB").resize((size, size), Image.Resampling.NEAREST), (x, y))
    return sheet


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# Viridis (perceptually uniform, colour-blind safe) sampled at 9 stops; linear between them.
_VIRIDIS = np.array([(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
                     (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)], dtype=np.float64)


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (any shape) to uint8 RGB with viridis."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0, 1) * (len(_VIRIDIS) - 1)
    lo = np.floor(v).astype(int).clip(0, len(_VIRIDIS) - 2)
    frac = (v - lo)[..., None]
    return (_VIRIDIS[lo] * (1 - frac) + _VIRIDIS[lo + 1] * frac).round().astype(np.uint8)


def heatmap_overlay(glyph: Image.Image, attention: np.ndarray, query: tuple[float, float] | None = None,
                    size: int = 256, alpha: float = 0.65, glyph_size: int | None = None,
                    gamma: float = 0.5) -> Image.Image:
    """Overlay an (h, w) attention map on a glyph.

    The map is normalised to its maximum, shown as colour = (a / max) ** ``gamma`` (0.5 lifts the
    long tail of SAGAN's very peaked softmax into view; 1 is linear), and upsampled with nearest
    neighbour so every feature-map cell stays a visible square; ``query`` (glyph pixels) is marked.
    """
    att = np.asarray(attention, dtype=np.float64)
    peak = att.max() if att.size and np.isfinite(att).all() and att.max() > 0 else 1.0
    heat = Image.fromarray(colormap((att / peak).clip(0, 1) ** gamma), "RGB").resize((size, size), Image.Resampling.NEAREST)
    base = glyph.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    out = Image.blend(base, heat, alpha)
    # keep ink readable: darken where the glyph has ink
    ink = Image.eval(glyph.convert("L").resize((size, size), Image.Resampling.BILINEAR), lambda p: 255 - p)
    out = Image.composite(Image.new("RGB", (size, size), (20, 20, 20)), out, ink.point(lambda p: p * 0.55))
    if query is not None:
        gs = glyph_size or glyph.size[0]
        x, y = query[0] * size / gs, query[1] * size / gs
        d = ImageDraw.Draw(out)
        r = max(4, size // 40)
        d.ellipse([x - r, y - r, x + r, y + r], outline=(255, 40, 40), width=2)
        d.line([x - 2 * r, y, x - r, y], fill=(255, 40, 40), width=2)
        d.line([x + r, y, x + 2 * r, y], fill=(255, 40, 40), width=2)
        d.line([x, y - 2 * r, x, y - r], fill=(255, 40, 40), width=2)
        d.line([x, y + r, x, y + 2 * r], fill=(255, 40, 40), width=2)
    return out


def difference_image(a: Image.Image, b: Image.Image, size: int | None = None) -> Image.Image:
    """Where two glyphs differ: red = ink only in ``a``, blue = ink only in ``b``, grey = both."""
    x = np.asarray(a.convert("L"), dtype=np.float32) / 255
    y = np.asarray(b.convert("L"), dtype=np.float32) / 255
    ink_a, ink_b = 1 - x, 1 - y
    both = np.minimum(ink_a, ink_b)
    rgb = np.ones(x.shape + (3,), np.float32)
    rgb -= both[..., None] * 0.6
    only_a, only_b = np.clip(ink_a - ink_b, 0, 1), np.clip(ink_b - ink_a, 0, 1)
    rgb[..., 1] -= only_a + only_b
    rgb[..., 2] -= only_a
    rgb[..., 0] -= only_b
    img = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    return img.resize((size, size), Image.Resampling.NEAREST) if size else img
