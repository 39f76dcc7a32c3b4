"""Glyph metrics on [0, 1] grayscale arrays (white = 1).

Similarity to the real glyph (L1, RMSE, SSIM, ink IoU) and two defect measures that need no
reference, because a blob is a blob whether or not the real glyph is at hand:

- **dithered**: a glyph carries speckle, counted two ways.
  ``specks`` thresholds at 0.5 and counts pixels whose ink state differs from all four neighbours
  (a checkerboard of ink and paper); ``texture`` counts pixels lighter or darker than all four
  neighbours by more than 0.03 of the grey range (faint dotted halos and mottled ink that stay
  above the threshold). A real font's anti-aliased edges are smooth, so both are ~0 on real glyphs.
- **broken strokes** (needs the real glyph): ink fragments (8-connected components of at least
  ``MIN_FRAGMENT`` pixels) beyond the real glyph's count.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label
from skimage.metrics import structural_similarity

INK_THRESHOLD = 0.5  # a pixel darker than mid-grey is ink
SPECK_FLAG = 15  # a glyph with this many thresholded specks is dithered
TEXTURE_STEP = 0.03  # a pixel this much lighter/darker than all 4 neighbours is texture
TEXTURE_FLAG = 12  # a glyph with this many texture pixels is textured
MIN_FRAGMENT = 4  # ink components smaller than this are specks, not stroke fragments


def _neighbours(a: np.ndarray) -> np.ndarray:
    """(N, S, S) -> (4, N, S, S): up, down, left, right, edges replicated."""
    p = np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="edge")
    return np.stack([p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]])


def speck_counts(glyphs: np.ndarray) -> np.ndarray:
    """(N, S, S) in [0, 1] -> (N,) pixels whose ink state differs from all four neighbours."""
    ink = np.asarray(glyphs) < INK_THRESHOLD
    return (_neighbours(ink) != ink[None]).all(0).sum((1, 2))


def texture_counts(glyphs: np.ndarray, step: float = TEXTURE_STEP) -> np.ndarray:
    """(N, S, S) in [0, 1] -> (N,) pixels lighter or darker than all four neighbours by > step."""
    g = np.asarray(glyphs, dtype=np.float32)
    nb = _neighbours(g)
    return (((g[None] - nb) > step).all(0) | ((nb - g[None]) > step).all(0)).sum((1, 2))


def fragment_counts(glyphs: np.ndarray) -> np.ndarray:
    """(N, S, S) -> (N,) 8-connected ink components of at least MIN_FRAGMENT pixels."""
    out = []
    for g in np.asarray(glyphs):
        labels = label(g < INK_THRESHOLD, connectivity=2)
        sizes = np.bincount(labels.ravel())[1:]
        out.append(int((sizes >= MIN_FRAGMENT).sum()))
    return np.array(out)


def defect_metrics(pred: np.ndarray, real: np.ndarray | None = None) -> dict[str, float]:
    """Rates over a batch (N, S, S): dithered (specks), textured (faint), and with ``real``
    broken strokes (share with more fragments than the real glyph, and mean extra fragments)."""
    specks, texture = speck_counts(pred), texture_counts(pred)
    out = {"dithered": float((specks >= SPECK_FLAG).mean()),
           "textured": float((texture >= TEXTURE_FLAG).mean()),
           "specks_mean": float(specks.mean()), "texture_mean": float(texture.mean())}
    if real is not None:
        extra = fragment_counts(pred) - fragment_counts(real)
        out["broken"] = float((extra > 0).mean())
        out["extra_fragments"] = float(np.clip(extra, 0, None).mean())
    return out


def glyph_metrics(pred: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Mean metrics over a batch (N, S, S) of predictions against real glyphs, both in [0, 1]."""
    pred = np.asarray(pred, dtype=np.float64)
    real = np.asarray(real, dtype=np.float64)
    if pred.shape != real.shape:
        raise ValueError(f"shape mismatch: {pred.shape} vs {real.shape}")
    diff = pred - real
    l1 = np.abs(diff).mean(axis=(1, 2))
    rmse = np.sqrt((diff ** 2).mean(axis=(1, 2)))
    ssim = np.array([structural_similarity(p, r, data_range=1.0) for p, r in zip(pred, real)])
    ink_p, ink_r = pred < INK_THRESHOLD, real < INK_THRESHOLD
    inter = (ink_p & ink_r).sum(axis=(1, 2))
    union = (ink_p | ink_r).sum(axis=(1, 2))
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return {"l1": float(l1.mean()), "rmse": float(rmse.mean()), "ssim": float(ssim.mean()),
            "ink_iou": float(iou.mean()), **defect_metrics(pred, real), "n": int(len(pred))}
