"""Decode a folder of ``images/`` and ``masks/`` once into memory, paired by file stem (rules: ``decode``)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rudratune.config.schema import IntensityConfig
from rudratune.data import decode
from rudratune.errors import UserError, warn

EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class SegmentationData:
    """Decoded pairs at their native sizes, ready for any batcher.

    ``images``: float32 (H, W, C) in [0, 1], the same C (``channels``: 1 for grey data, 3 for colour) for
    every image; ``masks``: bool (H, W). ``root`` is the folder they came from.
    """

    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]
    root: str = ""

    def __len__(self) -> int:
        return len(self.names)

    @property
    def channels(self) -> int:
        return int(self.images[0].shape[-1]) if self.images else 1

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.images) + sum(m.nbytes for m in self.masks)

    def subset(self, indices: list[int]) -> SegmentationData:
        return SegmentationData(
            tuple(self.names[i] for i in indices),
            tuple(self.images[i] for i in indices),
            tuple(self.masks[i] for i in indices),
            self.root,
        )

    def describe(self) -> str:
        """One line: pairs, channels, sizes, foreground and the memory the decoded set takes."""
        sides = sorted({(a.shape[1], a.shape[0]) for a in self.images})
        sizes = f"{sides[0][0]}x{sides[0][1]}" + (
            f" to {sides[-1][0]}x{sides[-1][1]}" if len(sides) > 1 else ""
        )
        fg = sum(int(m.sum()) for m in self.masks) / max(1, sum(m.size for m in self.masks))
        return (
            f"{len(self)} pairs, {self.channels} channel{'s' if self.channels > 1 else ''}, {sizes} px, "
            f"foreground {fg:.1%}, {self.nbytes / 2**20:.1f} MiB decoded (float32 images, bool masks)"
        )


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


def _decode_pair(
    image_path: Path, mask_path: Path, intensity: IntensityConfig
) -> tuple[np.ndarray, bool, np.ndarray, int]:
    """(image in [0, 1], whether it was stretched, boolean mask, the mask's distinct values)."""
    raw = decode.read(image_path)
    raw_mask = decode.read(mask_path, mask=True)
    if raw.shape[:2] != raw_mask.shape[:2]:
        raise UserError(
            f"data.root: size mismatch: {image_path} is {raw.shape[1]}x{raw.shape[0]}, "
            f"its mask {mask_path.name} is {raw_mask.shape[1]}x{raw_mask.shape[0]}"
        )
    image, stretched = decode.scale(decode.channels_last(raw), intensity.mode, intensity.low, intensity.high)
    mask, n_values = decode.binarize(raw_mask)
    return image, stretched, mask, n_values


def load_folder(root: str | Path, intensity: IntensityConfig | None = None) -> SegmentationData:
    """Decode every image/mask pair under ``root`` by the rules of ``rudratune.data.decode``.

    Warns (one line each) when masks have more than two values or float images leave [0, 1].

    Raises:
        UserError: missing or empty folder, an unpaired file, an unreadable or too large file (named), an
            image whose size differs from its mask's, or masks with no foreground at all.
    """
    root = Path(root)
    intensity = intensity or IntensityConfig()
    images, masks = _pairs(root)
    names = tuple(sorted(images))
    decoded_images, decoded_masks, many_values, stretched = [], [], [], []
    progress, nbytes = _Progress(len(names), root), 0
    try:
        for done, name in enumerate(names, 1):
            image, was_stretched, mask, n_values = _decode_pair(images[name], masks[name], intensity)
            many_values += [(masks[name], n_values)] if n_values > 2 else []
            stretched += [images[name]] if was_stretched else []
            decoded_images.append(image)
            decoded_masks.append(mask)
            nbytes += image.nbytes + mask.nbytes
            progress.step(done, nbytes)
    finally:
        progress.close()
    _check_masks(root, decoded_masks, many_values)
    _warn(root, many_values, stretched)
    flat = [images[n] for n, a in zip(names, decoded_images, strict=True) if a.size and a.min() == a.max()]
    if flat:
        warn(
            f"data.root: {len(flat)} of {len(names)} image(s) hold one value everywhere (e.g. {flat[0]}); "
            "nothing to learn from them (blank or failed exports?)"
        )
    channels = max(a.shape[-1] for a in decoded_images)
    if channels > 1:  # colour data: grey images among them become grey RGB
        decoded_images = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in decoded_images]
    return SegmentationData(names, tuple(decoded_images), tuple(decoded_masks), str(root))


def _check_masks(root: Path, masks: list[np.ndarray], many_values: list[tuple[Path, int]]) -> None:
    """Refuse masks with nothing to segment: no foreground anywhere, or foreground everywhere."""
    rule = "(mask rule: README, 'How images and masks are decoded')"
    if not any(m.any() for m in masks):
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


def _warn(root: Path, many_values: list[tuple[Path, int]], stretched: list[Path]) -> None:
    if many_values:
        path, n = many_values[0]
        warn(
            f"data.root: {len(many_values)} mask(s) have more than two values (e.g. {path}: {n} values; JPEG "
            "or antialiased?); binarized at half their range (> 127 for 8-bit, > 32767 for 16-bit)"
        )
    if stretched:
        warn(
            f"data.root: {len(stretched)} float image(s) leave [0, 1] (e.g. {stretched[0]}); each was "
            "stretched from its own min and max; set data.intensity to choose the rule"
        )
