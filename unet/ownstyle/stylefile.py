"""A visitor's style as a small file: safetensors (never a pickle), checked before anything is used.

Tensors: ``style_row`` (1, E), the new style-embedding row; then, by what the fine-tune moved,
``lora.<module>.u`` / ``.v`` low-rank factors, or ``weight.<parameter>`` whole tensors; and, so the
style can be taught further or completed into a font, ``glyphs`` (N, S, S) uint8, the uploaded
glyphs. Metadata (strings): the format and version, the base model's fingerprint and name, the
style's name, how it was trained, its characters and its held-back score.

``load_style`` refuses a file for another base model, an unknown tensor, a wrong shape or dtype,
a non-finite number, or a file over ``UPLOAD_LIMIT``; each with a message.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ..errors import UserError, shown
from ..model import UnetGenerator
from ..settings import UPLOAD_LIMIT
from .tune import MAX_LORA_RANK, TunedStyle, extend_styles, lora_targets

FORMAT = "glyph-attention-style"
VERSION = "1"
MAX_NAME = 24  # characters of a style's name


class StyleFileError(UserError):
    """A style file that cannot be used here, with the reason."""


def base_fingerprint(model: UnetGenerator) -> str:
    """16 hex digits naming the base model's weights: a style file fits only the model it was
    taught on."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, value in model.state_dict().items():
        h.update(name.encode())
        h.update(value.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def clean_name(name, default: str = "My style") -> str:
    """A style's name as shown: printable, one line, at most MAX_NAME characters."""
    if not isinstance(name, str):
        return default
    text = "".join(c for c in name if c.isprintable()).strip()
    text = " ".join(text.split())[:MAX_NAME].strip()
    return text or default


@dataclass
class StyleFile:
    """What a style file holds, checked: enough to rebuild the tuned model on its base."""

    name: str
    train: str
    rank: int
    row: torch.Tensor  # (E,)
    factors: dict[str, tuple[torch.Tensor, torch.Tensor]]  # LoRA: module -> (u, v)
    weights: dict[str, torch.Tensor]  # whole parameters (decoder / all)
    chars: list[str]  # the glyphs' characters
    glyphs: np.ndarray | None  # (N, S, S) uint8
    meta: dict

    def build(self, base: UnetGenerator) -> UnetGenerator:
        """The tuned model: ``base`` plus the style row, with the deltas merged (base unchanged)."""
        model = extend_styles(base, self.row)
        with torch.no_grad():
            targets = lora_targets(model)
            for name, (u, v) in self.factors.items():
                w = targets[name].weight
                w.add_((u @ v).reshape(w.shape).to(w.dtype))
            state = model.state_dict()
            for name, value in self.weights.items():
                state[name].copy_(value)
        return model.eval()


def style_bytes(tuned: TunedStyle, name: str, base_id: str, base_name: str,
                glyphs: np.ndarray | None = None) -> bytes:
    """The style file of a finished fine-tune (``glyphs``: the uploaded ones, (N, S, S) uint8, in
    the order of ``tuned.chars``)."""
    tensors = {k: v.float().contiguous() for k, v in tuned.delta.items()}
    tensors = {("style_row" if k == "style_row" else k): v for k, v in tensors.items()}
    if glyphs is not None:
        tensors["glyphs"] = torch.from_numpy(np.ascontiguousarray(glyphs, dtype=np.uint8))
    meta = {"format": FORMAT, "version": VERSION, "base": base_id, "base_name": base_name,
            "name": clean_name(name), "train": tuned.train, "rank": str(tuned.lora_rank),
            "chars": "".join(tuned.chars), "heldout_chars": "".join(tuned.heldout_chars),
            "heldout_ssim": f"{tuned.heldout.get('ssim', float('nan')):.4f}",
            "heldout_dithered": f"{tuned.heldout.get('dithered', float('nan')):.4f}",
            "start_style": tuned.start_style, "steps": str(tuned.steps)}
    return save(tensors, metadata=meta)


def load_style(path: str | Path, base: UnetGenerator, base_id: str,
               max_bytes: int = UPLOAD_LIMIT) -> StyleFile:
    """Read and check a style file for ``base`` (fingerprint ``base_id``)."""
    path = Path(path)
    try:
        size = os.path.getsize(path)
    except OSError:
        raise StyleFileError("the style file could not be read", key="style.file.unreadable") from None
    if size > max_bytes:
        raise StyleFileError(f"the style file is {size / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB",
                             key="style.file.too_big", size=f"{size / 2**20:.1f}", limit=f"{max_bytes / 2**20:.0f}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            if meta.get("format") != FORMAT:
                raise StyleFileError("this is not a Glyph Attention style file", key="style.file.not_style")
            if meta.get("base") != base_id:
                raise StyleFileError(f"this style was taught on another model ({shown(meta.get('base_name'))}); "
                                     f"it fits only that one", key="style.file.other_base")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except StyleFileError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError, json.JSONDecodeError) as e:
        raise StyleFileError(f"the style file is damaged ({type(e).__name__})", key="style.file.damaged") from None
    return _check(tensors, meta, base)


def _check(tensors: dict[str, torch.Tensor], meta: dict, base: UnetGenerator) -> StyleFile:
    def bad(what: str):
        return StyleFileError(f"the style file is damaged ({what})", key="style.file.damaged")

    emb = base.style_embedding.weight
    row = tensors.pop("style_row", None)
    if row is None or tuple(row.shape) != (1, emb.shape[1]):
        raise bad("no style row of the right size")
    if not row.is_floating_point() or not torch.isfinite(row).all():
        raise bad("the style row is not finite floating point")
    glyphs = tensors.pop("glyphs", None)
    chars = list(meta.get("chars", ""))
    if glyphs is not None:
        size = base.config.image_size
        if glyphs.dtype != torch.uint8 or glyphs.dim() != 3 or tuple(glyphs.shape[1:]) != (size, size) \
                or len(glyphs) != len(chars):
            raise bad("glyphs")
    train = meta.get("train", "")
    if train not in ("embedding", "lora", "decoder", "all"):
        raise bad(f"training mode {shown(train)}")
    targets = {name: m.weight for name, m in lora_targets(base).items()}
    params = dict(base.named_parameters())
    factors: dict[str, list] = {}
    weights = {}
    for key, value in tensors.items():
        if not value.is_floating_point() or not torch.isfinite(value).all():
            raise bad(f"{shown(key)} is not finite floating point")
        if key.startswith("lora.") and key[-2:] in (".u", ".v") and key[5:-2] in targets:
            factors.setdefault(key[5:-2], [None, None])[0 if key.endswith(".u") else 1] = value.float()
        elif key.startswith("weight.") and key[7:] in params and key[7:] != "style_embedding.weight":
            if value.shape != params[key[7:]].shape:
                raise bad(f"shape of {shown(key)}")
            weights[key[7:]] = value.float()
        else:
            raise bad(f"unknown tensor {shown(key)}")
    checked = {}
    for name, (u, v) in factors.items():
        w = targets[name]
        if u is None or v is None or u.dim() != 2 or v.dim() != 2 or u.shape[0] != w.shape[0] \
                or v.shape[1] != w[0].numel() or u.shape[1] != v.shape[0] or u.shape[1] > MAX_LORA_RANK:
            raise bad(f"low-rank factors of {shown(name)}")
        checked[name] = (u, v)
    try:
        rank = int(meta.get("rank", "0"))
    except ValueError:
        rank = 0
    return StyleFile(clean_name(meta.get("name")), train, rank, row[0].float(), checked, weights, chars,
                     None if glyphs is None else glyphs.numpy(), meta)
