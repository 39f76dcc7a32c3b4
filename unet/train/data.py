"""Paired glyph dataset: render a source font and target fonts once, split characters, cache on disk.

Layout of a dataset directory (``python -m unet.data --out DIR ...``)::

    glyphs.npz     source (N, S, S) uint8; targets (K, N, S, S) uint8; mask (K, N) bool
    meta.json      fonts, styles, size, seed, counts
    chars.txt      the N characters, in array order
    heldout.txt    characters never trained on (evaluation only)
    train.txt      the characters training may use

Every character is drawn by the source font and by at least one target; ``mask[k, i]`` says whether
target k draws character i (a style trains only on what its font has). Held-out characters are drawn
by every target, so each style is evaluated on the same set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..engine.charsets import load_charset
from ..engine.glyphs import Font, FontSpec, image_to_array

# The shipped subset of Noto Serif CJK TC (assets/fonts): renders pixel-identically to the system
# collection's face, so datasets, training and the demo all draw from the same file.
DEFAULT_SOURCE = FontSpec("fonts/NotoSerifCJKtc-Regular-subset.otf", "Noto Serif CJK TC")
DEFAULT_TARGETS = {
    "LXGW WenKai": FontSpec("LXGWWenKai-Regular.ttf"),
    "AR PL UKai": FontSpec("ukai.ttc", "AR PL UKai CN"),
    "Smiley Sans": FontSpec("SmileySans-Oblique.ttf"),
}


@dataclass
class DatasetSpec:
    source: FontSpec
    targets: dict[str, FontSpec]
    charset: str = "gb2312+big5"
    heldout_charset: str = "gb2312-1"
    heldout_count: int = 500
    size: int = 128
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def key(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["source"] = self.source.to_dict()
        d["targets"] = {k: v.to_dict() for k, v in self.targets.items()}
        return d


def split_heldout(candidates: list[str], pool: set[str], count: int, seed: int) -> list[str]:
    """Deterministic held-out choice: ``count`` characters of ``pool`` by a seeded shuffle."""
    eligible = sorted(c for c in candidates if c in pool)
    if count > len(eligible):
        raise ValueError(f"asked for {count} held-out characters but only {len(eligible)} qualify")
    random.Random(seed).shuffle(eligible)
    return sorted(eligible[:count])


_WORKER_FONTS: dict = {}


def _render_many(args) -> np.ndarray:
    spec_d, chars, size = args
    key = json.dumps(spec_d, sort_keys=True)
    if key not in _WORKER_FONTS:
        _WORKER_FONTS[key] = Font.from_spec(FontSpec.from_dict(spec_d))
    font = _WORKER_FONTS[key]
    out = np.full((len(chars), size, size), 255, np.uint8)
    for i, ch in enumerate(chars):
        if font.draws(ch):
            out[i] = image_to_array(font.render(ch, size))
    return out


def render_all(spec: FontSpec, chars: list[str], size: int, workers: int, progress=None) -> np.ndarray:
    """Render characters in parallel (a blank white canvas where the font lacks one)."""
    chunks = [chars[i:i + 256] for i in range(0, len(chars), 256)]
    jobs = [(spec.to_dict(), c, size) for c in chunks]
    parts = []
    if workers <= 1:
        for j in jobs:
            parts.append(_render_many(j))
            if progress:
                progress.update(len(j[1]))
    else:
        with ProcessPoolExecutor(workers) as ex:
            for j, arr in zip(jobs, ex.map(_render_many, jobs)):
                parts.append(arr)
                if progress:
                    progress.update(len(j[1]))
    return np.concatenate(parts) if parts else np.zeros((0, size, size), np.uint8)


def build_dataset(spec: DatasetSpec, out: str | Path, workers: int | None = None,
                  show_progress: bool = True) -> Path:
    """Render and save the dataset into ``out`` unless an identical one is cached there."""
    from tqdm.auto import tqdm

    out = Path(out)
    meta_path = out / "meta.json"
    if meta_path.is_file() and json.loads(meta_path.read_text())["key"] == spec.key():
        return out
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    source = Font.from_spec(spec.source)
    targets = {name: Font.from_spec(s) for name, s in spec.targets.items()}
    candidates = [c for c in load_charset(spec.charset) if source.draws(c)]
    draws = {name: {c for c in candidates if f.draws(c)} for name, f in targets.items()}
    chars = [c for c in candidates if any(c in d for d in draws.values())]
    covered_by_all = set.intersection(*draws.values()) if draws else set()
    heldout = split_heldout(chars, set(load_charset(spec.heldout_charset)) & covered_by_all,
                            spec.heldout_count, spec.seed)
    held = set(heldout)
    total = len(chars) * (1 + len(targets))
    bar = tqdm(total=total, desc="rendering", unit="glyph", disable=not show_progress)
    src = render_all(spec.source, chars, spec.size, workers, bar)
    tgt = np.stack([render_all(s, chars, spec.size, workers, bar) for s in spec.targets.values()])
    bar.close()
    mask = np.array([[c in draws[name] for c in chars] for name in targets], dtype=bool)
    np.savez_compressed(out / "glyphs.npz", source=src, targets=tgt, mask=mask)
    (out / "chars.txt").write_text("".join(chars), encoding="utf-8")
    (out / "heldout.txt").write_text("".join(heldout), encoding="utf-8")
    (out / "train.txt").write_text("".join(c for c in chars if c not in held), encoding="utf-8")
    meta = {"key": spec.key(), "spec": spec.to_dict(), "styles": list(spec.targets),
            "num_chars": len(chars), "num_heldout": len(heldout),
            "num_train": len(chars) - len(heldout),
            "per_style_train": {n: int(sum(mask[k, i] for i, c in enumerate(chars) if c not in held))
                                for k, n in enumerate(targets)}}
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return out


class GlyphPairs:
    """A loaded dataset directory as tensors, with index lists for training and held-out use."""

    def __init__(self, root: str | Path, device: str | torch.device = "cpu"):
        self.root = Path(root)
        self.meta = json.loads((self.root / "meta.json").read_text(encoding="utf-8"))
        arrays = np.load(self.root / "glyphs.npz")
        self.styles: list[str] = self.meta["styles"]
        self.chars = list((self.root / "chars.txt").read_text(encoding="utf-8"))
        self.heldout_chars = list((self.root / "heldout.txt").read_text(encoding="utf-8"))
        self.size = int(self.meta["spec"]["size"])
        self.source = torch.from_numpy(arrays["source"]).to(device)  # (N, S, S) uint8
        self.targets = torch.from_numpy(arrays["targets"]).to(device)  # (K, N, S, S) uint8
        self.mask = torch.from_numpy(arrays["mask"]).to(device)  # (K, N) bool
        index = {c: i for i, c in enumerate(self.chars)}
        held = torch.zeros(len(self.chars), dtype=torch.bool, device=device)
        held[[index[c] for c in self.heldout_chars]] = True
        self.heldout_index = held.nonzero().squeeze(1)
        # training pairs: (style, char) where the style's font draws the char and it is not held out
        pairs = (self.mask & ~held[None]).nonzero()  # (P, 2): style, char
        self.train_pairs = pairs

    @staticmethod
    def to_unit(x: torch.Tensor) -> torch.Tensor:
        """uint8 (..., S, S) -> float (..., 1, S, S) in [-1, 1], white = 1."""
        return x.float().unsqueeze(-3) / 127.5 - 1.0

    def batch(self, pair_index: torch.Tensor, augment: float = 0.0,
              generator: torch.Generator | None = None):
        """(source, target, style) for rows of ``train_pairs``; optional paired scale/shift jitter."""
        style, char = self.train_pairs[pair_index].unbind(1)
        src = self.to_unit(self.source[char])
        tgt = self.to_unit(self.targets[style, char])
        if augment > 0:
            src, tgt = paired_jitter(src, tgt, augment, generator)
        return src, tgt, style


def paired_jitter(src: torch.Tensor, tgt: torch.Tensor, amount: float,
                  generator: torch.Generator | None = None):
    """The same random scale (1 +- amount) and shift (+- amount of the size) for source and target."""
    b = src.shape[0]
    r = torch.rand(b, 3, generator=generator, device=generator.device if generator else "cpu")
    r = (r.to(src.device) * 2 - 1) * amount
    theta = torch.zeros(b, 2, 3, device=src.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 + r[:, 0]
    theta[:, :, 2] = r[:, 1:] * 2
    grid = F.affine_grid(theta, list(src.shape), align_corners=False)
    both = torch.cat([src, tgt], 1)
    # pad with white (+1): shift values so that zero padding means white
    out = F.grid_sample(both - 1, grid, align_corners=False, padding_mode="zeros") + 1
    return out[:, :1], out[:, 1:]


def parse_font_arg(text: str) -> tuple[str, FontSpec]:
    """``NAME=FILE[:FAMILY]`` -> (style name, FontSpec)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE[:FAMILY], got {text!r}")
    name, rest = text.split("=", 1)
    file, _, family = rest.partition(":")
    return name, FontSpec(file, family or None)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m unet.data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="dataset directory (cache)")
    p.add_argument("--source", default=f"{DEFAULT_SOURCE.file}:{DEFAULT_SOURCE.family}",
                   help="FILE[:FAMILY] of the source font")
    p.add_argument("--target", action="append", type=parse_font_arg,
                   help="NAME=FILE[:FAMILY], once per style (default: WenKai, UKai, Smiley Sans)")
    p.add_argument("--charset", default="gb2312+big5", help="named charset(s) joined by + or a file")
    p.add_argument("--heldout-charset", default="gb2312-1")
    p.add_argument("--heldout", type=int, default=500, help="number of held-out characters")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    a = p.parse_args(argv)
    file, _, family = a.source.partition(":")
    targets = dict(a.target) if a.target else DEFAULT_TARGETS
    spec = DatasetSpec(FontSpec(file, family or None), targets, a.charset, a.heldout_charset,
                       a.heldout, a.size, a.seed)
    out = build_dataset(spec, a.out, a.workers)
    print(json.dumps(json.loads((out / "meta.json").read_text()), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
