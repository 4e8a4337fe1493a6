"""What ``predict`` writes per image: the mask (PNG 0/255 or TIFF), the probability map on request (16-bit
PNG or float32 TIFF) and an overlay (the mask's outline in red on the image), each named by the image's
stem in its own sub-folder. Formats are plain registries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

Writer = Callable[[Path, np.ndarray], Path]


def _png(path: Path, array: np.ndarray) -> Path:
    path = path.with_suffix(".png")
    Image.fromarray(array).save(path)
    return path


def _tiff(path: Path, array: np.ndarray) -> Path:
    import tifffile

    path = path.with_suffix(".tif")
    tifffile.imwrite(path, array)
    return path


MASK_FORMATS: dict[str, Writer] = {
    "png": lambda path, mask: _png(path, mask.astype(np.uint8) * 255),
    "tiff": lambda path, mask: _tiff(path, mask.astype(np.uint8) * 255),
}
"""``--format``: the mask as 0/255 8-bit, in PNG or TIFF."""
PROBABILITY_FORMATS: dict[str, Writer] = {
    "png": lambda path, p: _png(path, np.round(p * 65535).astype(np.uint16)),
    "tiff": lambda path, p: _tiff(path, p.astype(np.float32)),
}
"""``--probabilities`` follows ``--format``: 16-bit PNG (p × 65535) or float32 TIFF (p in [0, 1])."""

OUTLINE = (255, 0, 0)


def overlay(display: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: ``display`` (float [0, 1], grey or colour) with the mask's outline (its pixels next
    to background, 8-connected) in red."""
    from scipy import ndimage

    rgb = np.repeat(display, 3, axis=-1) if display.shape[-1] == 1 else display[..., :3]
    picture = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    edge = mask & ~ndimage.binary_erosion(mask, structure=np.ones((3, 3)), border_value=0)
    picture[edge] = OUTLINE
    return picture


def write_overlay(path: Path, display: np.ndarray, mask: np.ndarray) -> Path:
    return _png(path, overlay(display, mask))
