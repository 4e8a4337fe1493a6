"""Checks on decoded data against a config, run before anything is written: split sizes, foreground per
split, host memory of the resized tensors, and the training-batch rule (no batch of one)."""

from __future__ import annotations

import os

from rudratune.config.schema import DataConfig
from rudratune.data.split import split_indices
from rudratune.data.stored import SegmentationData
from rudratune.errors import UserError, warn

MIN_TRAIN = 2
"""A training split of one pair makes every batch a batch of one, which BatchNorm refuses."""
MEMORY_SHARE = 0.5
"""The resized tensors (images in their own type, uint8 masks) of the trials running at once may take at most
this share of the RAM."""


def drop_last_single(n_train: int, batch_size: int) -> bool:
    """Drop the last training batch when it would hold a single pair (a different pair each epoch, as the
    order is shuffled): BatchNorm layers, e.g. DeepLabV3Plus's ASPP pooling, refuse a batch of one."""
    return batch_size > 1 and n_train % batch_size == 1


def check_split(data: SegmentationData, cfg: DataConfig, *, seed: int) -> None:
    """Refuse splits that cannot train or evaluate; warn about a split with no foreground pixel."""
    splits = split_indices(
        len(data), val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=seed
    )
    sizes = [len(s) for s in splits]
    if sizes[0] < MIN_TRAIN or not sizes[1] or not sizes[2]:
        raise UserError(
            f"data.root: {data.root}: {len(data)} pairs split into {sizes[0]}/{sizes[1]}/{sizes[2]} "
            f"train/val/test with data.val_fraction={cfg.val_fraction} and "
            f"data.test_fraction={cfg.test_fraction}; needs at least {MIN_TRAIN} train pairs and 1 each for "
            "val and test: add pairs or change the fractions"
        )
    for name, indices in zip(("train", "val", "test"), splits, strict=True):
        if not any(data.masks[i].any() for i in indices):
            warn(
                f"data.root: {data.root}: no mask of the {name} split ({len(indices)} pairs, seed {seed}) has "
                f"a foreground pixel; its Dice says little"
            )
    check_upscale(data, cfg)


UPSCALE_WARN = 4
"""Images whose longest side is more than this many times below ``data.image_size`` are mostly interpolation."""


def check_upscale(data: SegmentationData, cfg: DataConfig) -> None:
    """Warn when resizing to ``data.image_size`` enlarges the images many times: the pixels the model sees
    are then invented by interpolation (a folder of thumbnails, or the wrong folder)."""
    sides = [max(image.shape[:2]) for image in data.images]
    small = sum(side * UPSCALE_WARN < cfg.image_size for side in sides)
    if small:
        warn(
            f"data.root: {data.root}: {small} of {len(sides)} images are more than {UPSCALE_WARN}x below "
            f"data.image_size={cfg.image_size} (smallest {min(sides)} px), so their resized pixels are mostly "
            "interpolation; lower data.image_size or check the folder"
        )


def physical_memory() -> int:
    """Bytes of RAM on this machine (0 when unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def resized_bytes(data: SegmentationData, image_size: int) -> int:
    """Every pair at ``image_size``² as ``datamodule.to_stored`` keeps it: images (C channels) in the widest
    type among them, masks (1 channel) as uint8, and each image's affine."""
    itemsize = max((a.dtype.itemsize for a in data.images), default=4)
    return len(data) * ((data.channels * itemsize + 1) * image_size * image_size + 8)


def check_memory(data: SegmentationData, cfg: DataConfig, *, concurrent: int = 1) -> None:
    """Refuse an image size whose resized tensors cannot fit in memory (MEMORY_SHARE of the RAM)."""
    need = resized_bytes(data, cfg.image_size) * concurrent
    ram = physical_memory()
    if ram and need > MEMORY_SHARE * ram:
        at_once = f" for {concurrent} trials at once" if concurrent > 1 else ""
        raise UserError(
            f"data.image_size: {cfg.image_size} px makes the {len(data)} pairs of {data.root} take "
            f"{need / 2**30:.1f} GiB as resized tensors{at_once}, over half of this machine's "
            f"{ram / 2**30:.1f} GiB; lower data.image_size"
        )
