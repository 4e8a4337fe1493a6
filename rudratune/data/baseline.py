"""Global-threshold baseline: how far plain Otsu thresholding gets on the pore masks."""

from __future__ import annotations

import numpy as np


def otsu_threshold(image: np.ndarray) -> int:
    """Return the Otsu threshold of a uint8 image.

    Pixels ``<= threshold`` form the dark class. The threshold maximises the between-class variance
    of the 256-bin histogram; ties go to the lowest level. A constant image returns its value.
    """
    hist = np.bincount(np.asarray(image, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 0
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    w1 = total - w0
    m0 = np.cumsum(hist * levels)
    valid = (w0 > 0) & (w1 > 0)
    if not valid.any():
        return int(np.argmax(hist))
    between = np.zeros(256)
    mu0 = m0[valid] / w0[valid]
    mu1 = (m0[-1] - m0[valid]) / w1[valid]
    between[valid] = w0[valid] * w1[valid] * (mu0 - mu1) ** 2
    return int(np.argmax(between))


def dice(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice of two boolean masks; 1.0 when both are empty."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    denom = pred.sum() + target.sum()
    if denom == 0:
        return 1.0
    return float(2.0 * np.logical_and(pred, target).sum() / denom)


def otsu_dice(images: list[np.ndarray], masks: list[np.ndarray]) -> float:
    """Mean per-image Dice of ``image <= otsu_threshold(image)`` against ``mask > 0``."""
    if len(images) != len(masks):
        raise ValueError("images and masks differ in length")
    if not images:
        raise ValueError("no images")
    scores = [
        dice(img <= otsu_threshold(img), np.asarray(m) > 0) for img, m in zip(images, masks, strict=True)
    ]
    return float(np.mean(scores))
