"""Decode a folder of ``images/`` and ``masks/`` once into memory, paired by file stem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rudratune.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class SegmentationData:
    """Decoded pairs at their native size: RGB uint8 images (H, W, 3) and boolean masks (H, W)."""

    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, indices: list[int]) -> SegmentationData:
        return SegmentationData(
            tuple(self.names[i] for i in indices),
            tuple(self.images[i] for i in indices),
            tuple(self.masks[i] for i in indices),
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


def _decode(path: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert(mode))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise UserError(
            f"data.root: cannot read image {path} ({type(err).__name__}: corrupt or unsupported)"
        ) from None


def load_folder(root: str | Path) -> SegmentationData:
    """Decode every image/mask pair under ``root``; masks are binarized (> 0).

    Raises:
        UserError: missing or empty folder, an image without a mask or a mask without an image (named),
            an unreadable file (named), or an image whose size differs from its mask's.
    """
    root = Path(root)
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
    names = tuple(sorted(images))
    decoded_images, decoded_masks = [], []
    for name in names:
        image, mask = _decode(images[name], "RGB"), _decode(masks[name], "L")
        if image.shape[:2] != mask.shape:
            raise UserError(
                f"data.root: size mismatch: {images[name]} is {image.shape[1]}x{image.shape[0]}, "
                f"its mask {masks[name].name} is {mask.shape[1]}x{mask.shape[0]}"
            )
        decoded_images.append(image)
        decoded_masks.append(mask > 0)
    return SegmentationData(names, tuple(decoded_images), tuple(decoded_masks))
