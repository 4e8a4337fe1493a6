"""One file to arrays, by documented rules: images to float32 in [0, 1], masks to booleans.

Images (``scale``):
- TIFFs are read with tifffile (first page; Pillow where tifffile lacks the codec, e.g. LZW), everything
  else with Pillow, in the file's own type: 16-bit stays 16-bit, float stays float.
- ``intensity.mode: dtype`` (default) divides by the range of the type: 8-bit by 255, 16-bit by 65535.
  32-bit integer images whose values fit 16 bits (Pillow reads some 16-bit PNGs so) count as 16-bit. Float
  images in [0, 1] are kept; a float image outside [0, 1] is stretched from its own min and max (warned).
- ``intensity.mode: percentile`` maps each image's ``low`` and ``high`` percentiles to 0 and 1, clipped.
- Channels: grey stays one channel; RGBA drops alpha, grey+alpha drops alpha, palette becomes RGB.

Masks (``binarize``), whatever the file's type:
- one or two distinct values (the usual 0/255, 0/1 or palette mask): the larger value is foreground, except
  that an all-zero mask is empty;
- more than two values (JPEG ringing, antialiased edges): foreground is above half the range the values
  need: ``> 127`` up to 8 bits, ``> 32767`` up to 16 bits, ``> 0.5`` for floats in [0, 1]. The loader
  warns. A multi-class label map is not a binary mask.
- colour masks count their brightest channel (alpha ignored).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rudratune.errors import UserError

TIFF = (".tif", ".tiff")
MAX_PIXELS = 89_478_485
"""Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``), applied to every format, TIFF too."""


def _too_large(path: Path, pixels: int | None) -> UserError:
    size = f"{pixels:,} pixels" if pixels else "too many pixels"
    return UserError(
        f"data.root: {path} has {size}, over the limit of {MAX_PIXELS:,} (Pillow's decompression-bomb "
        "limit); tile or downscale large micrographs first"
    )


def _unreadable(path: Path, err: BaseException) -> UserError:
    return UserError(f"data.root: cannot read image {path} ({type(err).__name__}: corrupt or unsupported)")


def read(path: Path, *, mask: bool = False) -> np.ndarray:
    """The file's pixels in their own type, (H, W) or (H, W, C); palette masks keep their indices."""
    array = _read_tiff(path, mask=mask) if path.suffix.lower() in TIFF else _read_pillow(path, mask=mask)
    if array.ndim == 3 and array.shape[-1] > 4 and array.shape[0] <= 4:  # planar (C, H, W)
        array = np.moveaxis(array, 0, -1)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] > 4):
        raise UserError(
            f"data.root: {path} has shape {array.shape}; rudratune reads 2-D images with 1 to 4 channels"
        )
    return array


def _read_tiff(path: Path, *, mask: bool) -> np.ndarray:
    """tifffile first (16-bit colour, float, planar); Pillow where tifffile lacks a codec (LZW, JPEG)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            if int(np.prod(page.shape[:2])) > MAX_PIXELS:
                raise _too_large(path, int(np.prod(page.shape[:2])))
            return np.asarray(page.asarray())
    except UserError:
        raise
    except Exception:  # no codec here (imagecodecs is not a dependency), or not a TIFF inside
        return _read_pillow(path, mask=mask)


def _read_pillow(path: Path, *, mask: bool) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise _too_large(path, img.width * img.height)
                return _pillow_array(img, mask=mask)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        found = re.search(r"\((\d+) pixels\)", str(err))
        raise _too_large(path, int(found.group(1)) if found else None) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise _unreadable(path, err) from None


def _pillow_array(img: Any, *, mask: bool) -> np.ndarray:
    if img.mode in ("P", "PA"):
        return np.asarray(img.convert("P") if mask else img.convert("RGB"))
    if img.mode in ("CMYK", "YCbCr", "HSV", "LAB", "RGBX", "RGBa", "La"):
        return np.asarray(img.convert("RGB"))
    return np.asarray(img)


def channels_last(array: np.ndarray) -> np.ndarray:
    """(H, W, C) with C = 1 (grey) or 3 (colour): alpha dropped."""
    if array.ndim == 2:
        return array[..., None]
    return array[..., :1] if array.shape[-1] <= 2 else array[..., :3]


def _bits_range(top: float) -> float:
    """The range of the smallest usual type that holds ``top``: 1 (floats in [0, 1]), 255 or 65535."""
    for limit in (1.0, 255.0, 65535.0):
        if top <= limit:
            return limit
    return float(top)


def scale(array: np.ndarray, mode: str, low: float = 1.0, high: float = 99.0) -> tuple[np.ndarray, bool]:
    """Image values to float32 in [0, 1]; also says whether a float image had to be stretched."""
    if mode == "percentile":
        out = array.astype(np.float32)
        lo, hi = np.percentile(out, [low, high])
        out = (out - np.float32(lo)) / np.float32(max(hi - lo, 1e-12))
        return np.clip(out, 0, 1, out=out), False
    if array.dtype == bool:
        return array.astype(np.float32), False
    if array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        lo, hi = float(info.min), float(info.max)
        if info.bits > 16 and array.size and array.min() >= 0 and array.max() <= 65535:
            lo, hi = 0.0, 65535.0
        out = (array.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
        return out, False
    out = array.astype(np.float32)
    lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 1.0)
    if lo >= 0 and hi <= 1 and np.isfinite(out).all():
        return out, False
    out = np.nan_to_num(out, nan=lo, posinf=hi, neginf=lo)
    return np.clip((out - lo) / max(hi - lo, 1e-12), 0, 1).astype(np.float32), True


def _distinct(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool or (array.dtype.kind == "u" and array.dtype.itemsize <= 2):
        return np.flatnonzero(np.bincount(array.ravel().astype(np.int64, copy=False)))
    return np.unique(array)


def binarize(array: np.ndarray) -> tuple[np.ndarray, int]:
    """A boolean mask by the rule in this module's docstring, and the number of distinct values seen."""
    if array.ndim == 3:
        array = array[..., : min(3, array.shape[-1])].max(axis=-1) if array.shape[-1] != 2 else array[..., 0]
    values = _distinct(array)
    if len(values) <= 2:
        top = values[-1] if len(values) else 0
        return (array == top) if top != 0 else np.zeros(array.shape, bool), len(values)
    return array > _bits_range(float(values[-1])) / 2, len(values)
