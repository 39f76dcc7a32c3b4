"""Glyph metrics on [0, 1] grayscale arrays (white = 1): L1, RMSE, SSIM and ink IoU."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

INK_THRESHOLD = 0.5  # a pixel darker than mid-grey is ink


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
            "ink_iou": float(iou.mean()), "n": int(len(pred))}
