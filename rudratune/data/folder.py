"""Decode a folder of ``images/`` and ``masks/`` once into memory, paired by file stem (rules: ``decode``,
``intensity``, ``preprocess``), in parallel threads (Pillow and tifffile release the GIL while decoding)."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rudratune.config.schema import IntensityConfig
from rudratune.data import decode, intensity, preprocess
from rudratune.data.stored import PackedMasks, SegmentationData
from rudratune.errors import UserError, warn

__all__ = ["EXTENSIONS", "SegmentationData", "load_folder"]

EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _by_stem(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise UserError(f"data.root: missing folder {folder}")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in EXTENSIONS and path.is_file():
            if path.stem in files:
                raise UserError(
                    f"data.root: two files named '{path.stem}' in {folder}: {files[path.stem].name}, {path.name}"
                )
            files[path.stem] = path
    return files


class _Progress:
    """``decoding N/M`` on stderr, rewritten in place, only on a terminal and only for folders that take a while."""

    def __init__(self, total: int, root: Path) -> None:
        self.total, self.root = total, root
        self.on = total >= 20 and sys.stderr.isatty()
        self.last = time.monotonic()

    def step(self, done: int, nbytes: int) -> None:
        if self.on and (time.monotonic() - self.last > 0.5 or done == self.total):
            self.last = time.monotonic()
            print(
                f"\rdecoding {self.root}: {done}/{self.total} pairs, {nbytes / 2**20:.0f} MiB",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.on:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _pairs(root: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    if not root.is_dir():
        raise UserError(f"data.root: no such folder {root}")
    images, masks = _by_stem(root / "images"), _by_stem(root / "masks")
    if not images and not masks:
        raise UserError(f"data.root: {root}/images and {root}/masks hold no images ({', '.join(EXTENSIONS)})")
    lonely_images = sorted(set(images) - set(masks))
    lonely_masks = sorted(set(masks) - set(images))
    if lonely_images:
        raise UserError(
            f"data.root: image without a mask: {images[lonely_images[0]]} ({len(lonely_images)} unpaired)"
        )
    if lonely_masks:
        raise UserError(
            f"data.root: mask without an image: {masks[lonely_masks[0]]} ({len(lonely_masks)} unpaired)"
        )
    return images, masks


@dataclass
class _Pair:
    """One decoded pair, as a decoding thread hands it back."""

    image: np.ndarray
    dtype: np.dtype
    stats: intensity.ImageStats
    non_finite: int
    mask: np.ndarray
    mask_values: int


def _decode_pair(image_path: Path, mask_path: Path) -> _Pair:
    raw = decode.read(image_path)
    raw_mask = decode.read(mask_path, mask=True)
    if raw.shape[:2] != raw_mask.shape[:2]:
        raise UserError(
            f"data.root: size mismatch: {image_path} is {raw.shape[1]}x{raw.shape[0]}, "
            f"its mask {mask_path.name} is {raw_mask.shape[1]}x{raw_mask.shape[0]}"
        )
    own = 1 if raw.ndim == 2 or raw.shape[-1] <= 2 else 3
    image, non_finite = preprocess.store(raw, own)
    mask, n_values = decode.binarize(raw_mask)
    stats = intensity.ImageStats.of(image, raw.dtype)
    return _Pair(image, raw.dtype, stats, non_finite, np.packbits(mask, axis=None), n_values)


CHUNK = 16
"""Pairs one decoding task takes. A task a pair woke the main thread and moved the GIL once a pair, which
cost more than the decoding of small images: 1,000 16-bit TIFFs at 256² took 1.1 s that way, 0.7-0.9 s in
chunks of 16 to 32."""


def _decode_chunk(paths: list[tuple[Path, Path]]) -> list[_Pair]:
    return [_decode_pair(image, mask) for image, mask in paths]


def threads() -> int:
    """Decoding threads: one per usable core, at least 2 (reading files also waits on the disk), at most 8."""
    return max(2, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))


def load_folder(root: str | Path, intensity_cfg: IntensityConfig | None = None) -> SegmentationData:
    """Decode every image/mask pair under ``root`` by the rules of ``decode`` and ``intensity``.

    Warns (one line each) when masks have more than two values, float images leave [0, 1] or hold NaN/inf,
    the decoded values span little of [0, 1], or images are (near-)constant.

    Raises:
        UserError: missing or empty folder, an unpaired file, an unreadable or too large file (named), an
            image whose size differs from its mask's, or masks with no foreground at all.
    """
    root = Path(root)
    cfg = intensity_cfg or IntensityConfig()
    images, masks = _pairs(root)
    names = tuple(sorted(images))
    stored, dtypes, bits, shapes = [], [], [], []
    stats, many_values, non_finite = intensity.DatasetStats(), [], []
    progress, nbytes = _Progress(len(names), root), 0
    with ThreadPoolExecutor(threads(), thread_name_prefix="rudratune-decode") as pool:
        try:
            paths = [(images[n], masks[n]) for n in names]
            chunks = pool.map(_decode_chunk, [paths[k : k + CHUNK] for k in range(0, len(paths), CHUNK)])
            pairs = (pair for chunk in chunks for pair in chunk)
            for done, (name, pair) in enumerate(zip(names, pairs, strict=True), 1):
                many_values += [(masks[name], pair.mask_values)] if pair.mask_values > 2 else []
                non_finite += [(images[name], pair.non_finite)] if pair.non_finite else []
                stats.add(pair.stats, pair.image.dtype)
                stored.append(pair.image)
                dtypes.append(pair.dtype)
                bits.append(pair.mask)
                shapes.append(pair.image.shape[:2])
                nbytes += pair.image.nbytes + pair.mask.nbytes
                progress.step(done, nbytes)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            progress.close()
    packed = PackedMasks(bits, shapes)
    _check_masks(root, packed, many_values)
    channels = max(a.shape[-1] for a in stored)
    if channels > 1:  # colour data: grey images among them become grey RGB
        stored = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in stored]
    decoding, stretched = intensity.fit(cfg.mode, (cfg.low, cfg.high), stats, channels)
    affines = tuple(
        (float(low), float(scale))
        for low, scale in (preprocess.affine(decoding, a, d) for a, d in zip(stored, dtypes, strict=True))
    )
    floats = [images[n] for n, d in zip(names, dtypes, strict=True) if d.kind == "f"]
    _warn(root, many_values, floats, stretched)
    _warn_values(root, names, images, stats, decoding, non_finite, affines)
    return SegmentationData(names, tuple(stored), packed, str(root), decoding, affines)


def _check_masks(root: Path, masks: PackedMasks, many_values: list[tuple[Path, int]]) -> None:
    """Refuse masks with nothing to segment: no foreground anywhere, or foreground everywhere."""
    rule = "(mask rule: README, 'How images and masks are decoded')"
    if not any(b.any() for b in masks.bits):
        hint = ""
        if many_values:  # e.g. a label map 0/1/2: more than two values, none above half the range
            path, n = many_values[0]
            hint = f" ({len(many_values)} have more than two values, e.g. {path}: {n}, none above half their range: a multi-class label map?)"
        raise UserError(
            f"data.root: {root}: none of the {len(masks)} masks has a foreground pixel{hint}; nothing to segment {rule}"
        )
    if all(m.all() for m in masks):
        raise UserError(
            f"data.root: {root}: all {len(masks)} masks are foreground everywhere (one value each); nothing to "
            f"segment; valid: masks with background (0) and foreground {rule}"
        )


def _warn(root: Path, many_values: list[tuple[Path, int]], paths: list[Path], stretched: bool) -> None:
    if many_values:
        path, n = many_values[0]
        warn(
            f"data.root: {len(many_values)} mask(s) have more than two values (e.g. {path}: {n} values; JPEG "
            "or antialiased?); binarized at half their range (> 127 for 8-bit, > 32767 for 16-bit)"
        )
    if stretched:
        warn(
            f"data.root: {root}: float images leave [0, 1] (e.g. {paths[0]}); data.intensity.mode: dtype "
            "stretched them from the dataset's finite min and max; valid modes: auto (default), dtype, percentile"
        )


def _warn_values(
    root: Path,
    names: tuple[str, ...],
    images: dict[str, Path],
    stats: intensity.DatasetStats,
    decoding: preprocess.Decoding,
    non_finite: list[tuple[Path, int]],
    affines: tuple[tuple[float, float], ...],
) -> None:
    """One line each: NaN/inf pixels, a narrow decoded range, constant and near-constant images."""
    if non_finite:
        path, n = non_finite[0]
        warn(
            f"data.root: {len(non_finite)} float image(s) hold NaN or infinite pixels (e.g. {path}: {n}); "
            "each was set to its image's finite minimum (NaN, -inf) or maximum (+inf)"
        )
    span = intensity.used_span(decoding, stats)
    if span is not None and span[0] < intensity.NARROW_SPAN:
        q = decoding.percentiles
        warn(
            f"data.root: {root}: the decoded images use {span[0]:.1%} of [0, 1] (percentiles {q[0]:g} to {q[1]:g} "
            f"of the {decoding.source_dtype} values, {span[1]:g} to {span[2]:g}, under "
            f"data.intensity.mode: {decoding.mode}); a network learns little from so narrow a range; "
            "valid modes: auto (default, stretches wider types from the dataset's percentiles), percentile, dtype"
        )
    flat = [images[n] for n, (lo, hi) in zip(names, stats.ranges, strict=True) if lo == hi]
    if flat:
        warn(
            f"data.root: {len(flat)} of {len(names)} image(s) hold one value everywhere (e.g. {flat[0]}); "
            "nothing to learn from them (blank or failed exports?)"
        )
    near = intensity.near_constant(decoding, stats, affines)
    if near:
        warn(
            f"data.root: {len(near)} of {len(names)} image(s) are near-constant (decoded, their values span "
            f"under {intensity.FLAT_SPAN:.0%} of [0, 1]; e.g. {images[names[near[0]]]}); little to learn from them"
        )
