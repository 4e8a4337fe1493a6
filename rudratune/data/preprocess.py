"""How a raw image becomes the float32 [0, 1] array a network sees: one implementation, numpy only.

This module imports nothing but numpy, so that it can ship inside an exported model (an MLflow pyfunc) that
must decode new images exactly as training did without rudratune installed. Training uses the same three
steps, with a resize (if any) between ``store`` and ``unit``:

1. ``store(raw, channels)``: channels last (alpha dropped, grey repeated when the data is colour),
   non-finite pixels of a float image replaced by its finite minimum (NaN, -inf) and maximum (+inf), and the
   values kept in the smallest type that holds them exactly (``stored_dtype``).
2. ``affine(decoding, image, dtype)``: the ``(low, scale)`` of the rule, from the ``Decoding``'s dataset
   statistics, from the range of the file's type, or from the image's own percentiles.
3. ``unit(x, low, scale)``: ``clip((x - low) * scale, 0, 1)`` in float32; it runs unchanged on numpy arrays
   and on torch tensors (training applies it per batch on the device).

``apply(decoding, raw)`` chains the three for one image at its own size.

Example:
    >>> d = Decoding.from_json(open("decoding.json").read())  # doctest: +SKIP
    >>> x = apply(d, raw)  # float32 (H, W, C) in [0, 1], as in training  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MODES = ("auto", "dtype", "percentile")
NARROW_INTS = ("uint8", "uint16", "int16", "int32")
"""Integer images are kept in the first of these that holds their values exactly (int64 data: float64)."""


@dataclass(frozen=True)
class Decoding:
    """The decoding rule of a dataset and the statistics it needs; JSON-serializable (``to_json``).

    Attributes:
        mode: the configured ``data.intensity.mode`` (``auto``, ``dtype`` or ``percentile``).
        rule: what was applied: ``range`` (each image by the range of its type: 8-bit / 255, 16-bit / 65535),
            ``dataset`` (``low`` and ``high`` below, the same for every image) or ``image`` (each image's
            own ``percentiles``).
        low, high: the source values that map to 0 and 1 under the ``dataset`` rule (else None).
        percentiles: the percentiles ``low`` and ``high`` came from (``dataset``), or each image's (``image``).
        channels: 1 (grey) or 3 (colour) channels the network takes.
        source_dtype: the files' type (the widest, where they differ), e.g. ``uint16``.
    """

    mode: str
    rule: str
    channels: int
    source_dtype: str
    low: float | None = None
    high: float | None = None
    percentiles: tuple[float, float] = (1.0, 99.0)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Decoding:
        raw: dict[str, Any] = json.loads(text)
        raw["percentiles"] = tuple(raw.get("percentiles", (1.0, 99.0)))
        return cls(**raw)


def channels_last(raw: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, C) with C = ``channels``: alpha dropped, grey repeated to 3 for colour data."""
    array = raw[..., None] if raw.ndim == 2 else raw[..., :1] if raw.shape[-1] <= 2 else raw[..., :3]
    if array.shape[-1] == channels:
        return array
    if array.shape[-1] == 1:
        return np.repeat(array, channels, axis=-1)
    raise ValueError(f"a colour image ({array.shape[-1]} channels) for a {channels}-channel decoding")


def finite(array: np.ndarray) -> tuple[np.ndarray, int]:
    """Non-finite pixels of a float image replaced (NaN, -inf: its finite minimum; +inf: its maximum).

    Returns the array and the number of pixels replaced; integer arrays come back unchanged."""
    if array.dtype.kind != "f":
        return array, 0
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if not count:
        return array, 0
    good = array[~bad]
    lo, hi = (float(good.min()), float(good.max())) if good.size else (0.0, 0.0)
    out = np.where(np.isnan(array) | np.isneginf(array), lo, array)
    return np.where(np.isposinf(out), hi, out).astype(array.dtype, copy=False), count


def narrow(array: np.ndarray) -> np.ndarray:
    """The values in the smallest type that holds them exactly.

    bool → uint8; integers → the first of ``NARROW_INTS`` that holds them; float → float16 when every value
    survives the round trip to float16 unchanged, else float32 (float64 loses digits past float32's ~7)."""
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype.kind in "iu":
        if array.dtype.name in NARROW_INTS[:3]:
            return array
        lo, hi = (int(array.min()), int(array.max())) if array.size else (0, 0)
        for name in NARROW_INTS:
            info = np.iinfo(name)
            if info.min <= lo and hi <= info.max:
                return array.astype(name)
        return array.astype(np.float64)
    if array.dtype == np.float16:
        return array
    half = array.astype(np.float16)
    if np.array_equal(half.astype(array.dtype), array):
        return half
    return array.astype(np.float32, copy=False)


def store(raw: np.ndarray, channels: int) -> tuple[np.ndarray, int]:
    """Step 1: the image as training keeps it (see the module docstring), and its non-finite pixel count."""
    image, bad = finite(channels_last(raw, channels))
    return narrow(image), bad


def type_range(dtype: np.dtype[Any], top: float) -> tuple[float, float]:
    """The ``range`` rule's (low, high) for a file's type; ``top`` is the image's largest value.

    Integers: the type's range, except that integers wider than 16 bits whose values fit 16 bits (Pillow
    reads some 16-bit PNGs so) count as 16-bit; bool: 0..1; float: 0..1."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if info.bits > 16 and 0 <= top <= 65535:
            return 0.0, 65535.0
        return float(info.min), float(info.max)
    return 0.0, 1.0


def _to_affine(low: float, high: float) -> tuple[np.float32, np.float32]:
    span = high - low
    return np.float32(low), np.float32(1.0 / span if span > 0 else 1.0)


def affine(decoding: Decoding, image: np.ndarray, dtype: np.dtype[Any]) -> tuple[np.float32, np.float32]:
    """Step 2: ``(low, scale)`` for one image as ``store`` returns it, whose file had type ``dtype``."""
    if decoding.mode == "dtype" and np.dtype(dtype).kind in "biu":  # dataset low/high are for its floats
        return _to_affine(*type_range(np.dtype(dtype), float(image.max()) if image.size else 0.0))
    if decoding.rule == "dataset":
        assert decoding.low is not None and decoding.high is not None  # set by fit() for this rule
        return _to_affine(decoding.low, decoding.high)
    if decoding.rule == "image":
        lo, hi = np.percentile(image.astype(np.float32), decoding.percentiles) if image.size else (0, 1)
        return _to_affine(float(lo), float(hi))
    return _to_affine(*type_range(np.dtype(dtype), float(image.max()) if image.size else 0.0))


def unit(x: Any, low: Any, scale: Any) -> Any:
    """Step 3: ``clip((x - low) * scale, 0, 1)``; ``x`` float32, a numpy array or a torch tensor."""
    return ((x - low) * scale).clip(0, 1)


def apply(decoding: Decoding, raw: np.ndarray) -> np.ndarray:
    """A raw image (H, W) or (H, W, C) of any type to float32 (H, W, ``decoding.channels``) in [0, 1], at its
    own size, exactly as training decodes it."""
    raw = np.asarray(raw)
    image, _ = store(raw, decoding.channels)
    low, scale = affine(decoding, image, raw.dtype)
    return np.asarray(unit(image.astype(np.float32), low, scale), dtype=np.float32)
