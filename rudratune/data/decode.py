"""One file to arrays, by documented rules: images in their own type, masks to booleans.

Images (``read``; their values become [0, 1] by ``intensity`` and ``preprocess``):
- TIFFs are read with tifffile (first page; Pillow where tifffile lacks the codec, e.g. LZW), everything
  else with Pillow, in the file's own type: 16-bit stays 16-bit, float stays float.
- Channels: grey stays one channel; RGBA drops alpha, grey+alpha drops alpha, palette becomes RGB. A TIFF
  whose samples are not colour (2 to 4 grey planes: a z-stack or a multichannel stack) is refused.

Masks (``binarize``), whatever the file's type:
- one or two distinct values (the usual 0/255, 0/1 or palette mask): the larger value is foreground, except
  that an all-zero mask is empty;
- more than two values (JPEG ringing, antialiased edges): foreground is above half the range the values
  need: ``> 127`` up to 8 bits, ``> 32767`` up to 16 bits, ``> 0.5`` for floats in [0, 1]. The loader
  warns. A multi-class label map is not a binary mask.
- colour masks count their brightest channel (alpha ignored); palette masks count their colours'
  brightness (a palette whose index 0 is white has white as foreground), or their indices where two
  colours are equally bright.
"""

from __future__ import annotations

import io
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


BUFFERED = 8 * 2**20
"""Files up to this size are read in one call and parsed from memory. Parsing from the file made many small
reads, each of which hands the GIL to the other decoding thread and waits to get it back: 1,000 16-bit TIFFs
at 256² took 0.32 s in one thread that way, 0.21 s from memory."""


def _source(path: Path) -> Path | io.BytesIO:
    return io.BytesIO(path.read_bytes()) if path.stat().st_size <= BUFFERED else path


def _read_tiff(path: Path, *, mask: bool) -> np.ndarray:
    """tifffile first (16-bit colour, float, planar); Pillow where tifffile lacks a codec (LZW, JPEG)."""
    import tifffile

    try:
        with tifffile.TiffFile(_source(path)) as tif:
            page = tif.pages.first
            side = page.shape[1:3] if page.planarconfig == 2 and len(page.shape) == 3 else page.shape[:2]
            if int(np.prod(side)) > MAX_PIXELS:
                raise _too_large(path, int(np.prod(side)))
            array = np.asarray(page.asarray())
            _refuse_stack(path, page, array)
            return array
    except UserError:
        raise
    except Exception:  # no codec here (imagecodecs is not a dependency), or not a TIFF inside
        return _read_pillow(path, mask=mask)


def _refuse_stack(path: Path, page: Any, array: np.ndarray) -> None:
    """A TIFF of 2 to 4 planes that are not colour (a z-stack or multichannel stack) is not an RGB(A) image.

    Refused: samples without a colour photometric (grey with extra planes that are not alpha), and planar
    RGB+alpha files whose 'alpha' plane is an image of its own (more than 16 distinct values: what
    ``tifffile.imwrite`` writes for a (4, H, W) stack)."""
    samples = int(getattr(page, "samplesperpixel", 1))
    if samples < 2 or array.ndim != 3:
        return
    photometric = int(getattr(page, "photometric", 1))
    alpha = [int(e) in (1, 2) for e in getattr(page, "extrasamples", ())]
    colour = photometric in (2, 6)  # RGB, YCbCr
    grey_alpha = photometric in (0, 1) and samples == 2 and any(alpha)
    planar = page.planarconfig == 2
    fake_alpha = (
        colour and planar and samples == 4 and len(np.unique(array[-1] if planar else array[..., -1])) > 16
    )
    if (colour or grey_alpha) and not fake_alpha:
        return
    raise UserError(
        f"data.root: {path} holds {samples} planes of one sample each ({'planar, ' if planar else ''}"
        f"{'colour with an image as its alpha plane' if fake_alpha else 'not colour'}: a z-stack or a "
        "multichannel stack?); valid: grey, RGB or RGBA images; save one plane (or a projection) per file"
    )


def _read_pillow(path: Path, *, mask: bool) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_source(path)) as img:
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
        return _palette_mask(img) if mask else np.asarray(img.convert("RGB"))
    if img.mode in ("CMYK", "YCbCr", "HSV", "LAB", "RGBX", "RGBa", "La"):
        return np.asarray(img.convert("RGB"))
    return np.asarray(img)


def _palette_mask(img: Any) -> np.ndarray:
    """A palette mask as its colours' brightness, so that the rule 'larger value is foreground' follows the
    colours (index 0 may be white); its indices where two used colours are equally bright."""
    from PIL import Image

    img = img.convert("P") if img.mode != "P" else img
    indices = np.asarray(img)
    palette = Image.new("P", (256, 1))
    palette.putpalette(img.getpalette() or list(range(256)) * 3)
    palette.putdata(list(range(256)))
    brightness = np.asarray(palette.convert("L"))[0]
    used = np.flatnonzero(np.bincount(indices.ravel(), minlength=256))
    return brightness[indices] if len(set(brightness[used].tolist())) == len(used) else indices


def _bits_range(top: float) -> float:
    """The range of the smallest usual type that holds ``top``: 1 (floats in [0, 1]), 255 or 65535."""
    for limit in (1.0, 255.0, 65535.0):
        if top <= limit:
            return limit
    return float(top)


def _distinct(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool or (array.dtype.kind == "u" and array.dtype.itemsize <= 2):
        return np.flatnonzero(np.bincount(array.ravel().astype(np.int64, copy=False)))
    return np.unique(array)


def binarize(array: np.ndarray) -> tuple[np.ndarray, int]:
    """A boolean mask by the rule in this module's docstring, and the number of distinct values seen."""
    if array.ndim == 3:
        array = array[..., : min(3, array.shape[-1])].max(axis=-1) if array.shape[-1] != 2 else array[..., 0]
    if array.size and array.dtype.kind in "biu":  # the usual mask: its two values found in two passes
        lo, hi = array.min(), array.max()
        if lo == hi or not np.any((array != lo) & (array != hi)):
            return (array == hi) if hi != 0 else np.zeros(array.shape, bool), 1 + int(lo != hi)
    values = _distinct(array)
    if len(values) <= 2:
        top = values[-1] if len(values) else 0
        return (array == top) if top != 0 else np.zeros(array.shape, bool), len(values)
    return array > _bits_range(float(values[-1])) / 2, len(values)
