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
            draw.text((label_width + j * (size + pad) + size // 2 - 6, 1), f"U+{ord(ch):04X}",
                      fill=(120, 120, 120), font=ImageFont.load_default(9))
    for i, ((label, _), imgs) in enumerate(zip(rows, images)):
        y = header + i * (size + pad)
        draw.text((4, y + size // 2 - 8), str(label)[:16], fill=(40, 40, 40), font=font)
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
