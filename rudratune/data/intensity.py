"""The intensity rule of a dataset, fitted once over every image: ``fit`` turns the configured mode and the
images' statistics into a ``Decoding`` (see ``preprocess``), and ``range_warnings`` says when the result
leaves a network little to learn from.

Rules (``data.intensity.mode``):
- ``auto`` (default): 8-bit images (and float images in [0, 1]) by the range of their type (/ 255); wider
  types (16-bit, signed, 32-bit, other floats) from the dataset-wide ``low`` and ``high`` percentiles (1 and
  99) of the pixels of every image (all of them up to 256², evenly strided beyond), clipped. A 12-bit detector in a 16-bit file then spans [0, 1].
- ``dtype``: each image by the range of its type (8-bit / 255, 16-bit / 65535, signed 16-bit from -32768);
  float images in [0, 1] are kept, float images outside it are stretched from the dataset's finite min/max.
- ``percentile``: each image's own ``low`` and ``high`` percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rudratune.data.preprocess import Decoding, type_range

HISTOGRAM = {"uint8": 0, "int8": 128, "uint16": 0, "int16": 32768}
"""Types whose statistics are an exact histogram (value + offset → bin); others keep a strided sample."""
HISTOGRAM_SAMPLE = 65_536
"""Evenly strided pixels an image of a histogram type contributes to the dataset percentiles (all up to 256²):
counting every pixel of a 1024² uint16 image took longer (2.1 ms) than reading its file (1.9 ms)."""
SAMPLE = 16_384
"""Pixels an image of another type (float, 32-bit) contributes to the dataset percentiles (all up to 128²)."""
NARROW_SPAN = 0.05
"""Decoded images whose 1st-99th percentile spans less than this share of [0, 1] are warned about."""
FLAT_SPAN = 0.01
"""An image whose decoded values span under this share of [0, 1] is near-constant."""


@dataclass
class ImageStats:
    """What one image contributes to the dataset's rule (computed in the decoding thread)."""

    dtype: np.dtype
    low: float
    high: float
    histogram: np.ndarray | None = None
    sample: np.ndarray | None = None

    @classmethod
    def of(cls, image: np.ndarray, dtype: np.dtype) -> ImageStats:
        lo, hi = (float(image.min()), float(image.max())) if image.size else (0.0, 0.0)
        flat = image.ravel()
        offset = HISTOGRAM.get(image.dtype.name)
        if offset is not None:
            flat = flat[:: max(1, -(-flat.size // HISTOGRAM_SAMPLE))]
            values = flat.astype(np.int32) + offset if offset else flat
            # bins up to the image's top value only (4,096 at 12 bits); DatasetStats.add sums them into full size
            return cls(dtype, lo, hi, histogram=np.bincount(values))
        step = max(1, -(-flat.size // SAMPLE))
        return cls(dtype, lo, hi, sample=flat[::step].astype(np.float64))


@dataclass
class DatasetStats:
    """The images' statistics merged as they arrive (histograms are summed, not kept per image)."""

    dtypes: list[np.dtype] = field(default_factory=list)
    ranges: list[tuple[float, float]] = field(default_factory=list)
    histograms: dict[str, np.ndarray] = field(default_factory=dict)
    samples: list[np.ndarray] = field(default_factory=list)

    def add(self, stats: ImageStats, stored: np.dtype) -> None:
        self.dtypes.append(stats.dtype)
        self.ranges.append((stats.low, stats.high))
        if stats.histogram is not None:
            total = self.histograms.get(stored.name)
            if total is None:
                total = self.histograms[stored.name] = np.zeros(
                    256 if stored.itemsize == 1 else 65536, np.int64
                )
            total[: stats.histogram.size] += stats.histogram
        elif stats.sample is not None:
            self.samples.append(stats.sample)

    def percentiles(self, q: tuple[float, float]) -> tuple[float, float]:
        """The dataset's ``q`` percentiles (numpy's linear rule; exact for histogram types)."""
        merged = _merge(self.histograms)
        if not self.samples:
            return merged.percentiles(q) if merged is not None else (0.0, 0.0)
        values = np.concatenate([*([merged.expand()] if merged is not None else []), *self.samples])
        lo, hi = np.percentile(values, q) if values.size else (0.0, 0.0)
        return float(lo), float(hi)


@dataclass
class _Histogram:
    counts: np.ndarray
    offset: int

    def percentiles(self, q: tuple[float, float]) -> tuple[float, float]:
        cdf = np.cumsum(self.counts)
        n = int(cdf[-1]) if cdf.size else 0
        if not n:
            return 0.0, 0.0
        out = []
        for p in q:
            pos = p / 100 * (n - 1)
            k0 = int(np.floor(pos))
            v0, v1 = np.searchsorted(cdf, [k0, min(k0 + 1, n - 1)], side="right")
            out.append(float(v0 + (v1 - v0) * (pos - k0)) - self.offset)
        return out[0], out[1]

    def expand(self) -> np.ndarray:
        return np.repeat(np.arange(self.counts.size, dtype=np.float64) - self.offset, self.counts)


def _merge(histograms: dict[str, np.ndarray]) -> _Histogram | None:
    """One histogram over every histogram type seen (e.g. 8-bit and 16-bit images in one folder)."""
    if not histograms:
        return None
    offset = max(HISTOGRAM[name] for name in histograms)
    size = max(h.size - HISTOGRAM[name] for name, h in histograms.items()) + offset
    counts = np.zeros(size, np.int64)
    for name, h in histograms.items():
        start = offset - HISTOGRAM[name]
        counts[start : start + h.size] += h
    return _Histogram(counts, offset)


def _eight_bit(dtype: np.dtype) -> bool:
    return dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize == 1)


def fit(mode: str, q: tuple[float, float], stats: DatasetStats, channels: int) -> tuple[Decoding, bool]:
    """The dataset's ``Decoding``; also says whether float images outside [0, 1] were stretched (``dtype``)."""
    source = np.result_type(*stats.dtypes) if stats.dtypes else np.dtype(np.uint8)
    base = {"mode": mode, "channels": channels, "source_dtype": np.dtype(source).name, "percentiles": q}
    if mode == "percentile":
        return Decoding(rule="image", **base), False  # type: ignore[arg-type]
    floats = [r for d, r in zip(stats.dtypes, stats.ranges, strict=True) if d.kind == "f"]
    lo = min((r[0] for r in floats), default=0.0)
    hi = max((r[1] for r in floats), default=1.0)
    unit_floats = lo >= 0 and hi <= 1
    if mode == "dtype" or all(_eight_bit(d) for d in stats.dtypes) and not floats:
        if floats and not unit_floats:
            return Decoding(rule="dataset", low=lo, high=hi, **base), True  # type: ignore[arg-type]
        return Decoding(rule="range", **base), False  # type: ignore[arg-type]
    if floats and unit_floats and all(d.kind == "f" for d in stats.dtypes):
        return Decoding(rule="range", **base), False  # type: ignore[arg-type]
    p_lo, p_hi = stats.percentiles(q)
    if p_hi <= p_lo:  # most pixels share one value: fall back to the full range
        p_lo = min(r[0] for r in stats.ranges)
        p_hi = max(r[1] for r in stats.ranges)
    return Decoding(rule="dataset", low=p_lo, high=p_hi, **base), False  # type: ignore[arg-type]


def used_span(decoding: Decoding, stats: DatasetStats) -> tuple[float, float, float] | None:
    """The share of [0, 1] the dataset's percentile range takes once decoded, with the range itself; None
    where the rule stretches by construction (``dataset`` from percentiles, ``image``)."""
    if decoding.rule != "range":
        return None
    p_lo, p_hi = stats.percentiles(decoding.percentiles)
    top = max((r[1] for r in stats.ranges), default=0.0)
    lo, hi = type_range(np.dtype(decoding.source_dtype), top)
    return (p_hi - p_lo) / (hi - lo), p_lo, p_hi


def near_constant(
    decoding: Decoding, stats: DatasetStats, affines: tuple[tuple[float, float], ...]
) -> list[int]:
    """Indices of images whose decoded values span more than nothing but under ``FLAT_SPAN`` of [0, 1] (the
    ``image`` rule stretches every image, so it has none)."""
    if decoding.rule == "image":
        return []
    return [
        i
        for i, ((lo, hi), (_, scale)) in enumerate(zip(stats.ranges, affines, strict=True))
        if 0 < (hi - lo) * scale < FLAT_SPAN
    ]
