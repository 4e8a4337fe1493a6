"""LightningDataModule over in-memory tensors, resized once per image size and served from the device."""

from __future__ import annotations

import functools

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from rudratune.config.schema import DataConfig
from rudratune.data import preprocess
from rudratune.data.batches import Convert, DeviceBatches, Transform, place
from rudratune.data.checks import drop_last_single
from rudratune.data.split import split_indices
from rudratune.data.stored import SegmentationData

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


Stored = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""A split as kept: images (N, C, S, S) in their own type, masks (N, 1, S, S) uint8, affines (N, 2) float32."""


def _resized(image: np.ndarray, size: int) -> torch.Tensor:
    """(1, C, S, S) in the image's own type: bilinear with antialias, computed in float32 and rounded back
    (integers, clipped to their type) or cast back (float16): the resized set takes the stored bytes."""
    if not image.flags.writeable or not image.flags.c_contiguous:  # Pillow's arrays are read-only
        image = np.array(image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    if x.shape[-2:] == (size, size):
        return x
    out = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    if x.dtype.is_floating_point:
        return out.to(x.dtype)
    info = torch.iinfo(x.dtype)
    return out.round_().clamp_(info.min, info.max).to(x.dtype)


def to_stored(data: SegmentationData, size: int) -> Stored:
    """Resize every pair to ``size``² (images as ``_resized``, masks nearest), kept in their own types."""
    images, masks = [], []
    for image, mask in zip(data.images, data.masks, strict=True):
        y = torch.from_numpy(mask.view(np.uint8))[None, None]
        if y.shape[-2:] != (size, size):
            y = F.interpolate(y, size=(size, size), mode="nearest")
        images.append(_resized(image, size))
        masks.append(y)
    common = functools.reduce(torch.promote_types, (x.dtype for x in images))
    x = torch.cat([i.to(common) for i in images])
    affine = torch.tensor([data.affine(i) for i in range(len(data))], dtype=torch.float32).reshape(-1, 2)
    return x, torch.cat(masks), affine


def converter(normalize: str = "none") -> Convert:
    """The per-batch step on the device: ``preprocess.unit`` with each sample's affine, then the
    normalization (``imagenet``: one channel takes the mean of ImageNet's three statistics)."""

    def convert(x: torch.Tensor, y: torch.Tensor, affine: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low, scale = affine[:, 0, None, None, None], affine[:, 1, None, None, None]
        x = preprocess.unit(x.float(), low, scale)
        if normalize == "imagenet":
            mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
            if x.shape[1] == 1:
                mean, std = mean.mean(0, keepdim=True), std.mean(0, keepdim=True)
            x = (x - mean[:, None, None].to(x.device)) / std[:, None, None].to(x.device)
        return x, y.float()

    return convert


def to_tensors(
    data: SegmentationData, size: int, normalize: str = "none"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every pair resized to ``size``² (``to_stored``) and converted as training batches are (``converter``).

    Returns images (N, C, S, S) float32 in [0, 1] (or ImageNet-normalized) and masks (N, 1, S, S) float32.
    """
    x, y, affine = to_stored(data, size)
    return converter(normalize)(x, y, affine)


class SegDataModule(L.LightningDataModule):
    """Splits decoded data 60/20/20 (by default) and serves batches from the trial's device.

    Args:
        data: decoded pairs, shared by every trial of a sweep.
        cfg: the ``data`` section of the experiment config.
        seed: split seed (the experiment seed); also seeds each epoch's shuffle.
        transform: applied to each training batch on the device (augmentation), or None.
    """

    def __init__(
        self, data: SegmentationData, cfg: DataConfig, *, seed: int, transform: Transform | None = None
    ) -> None:
        super().__init__()
        self.data, self.cfg, self.seed, self.transform = data, cfg, seed, transform
        self.splits = dict(
            zip(
                ("train", "val", "test"),
                split_indices(
                    len(data), val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=seed
                ),
                strict=True,
            )
        )
        self.tensors: dict[str, Stored] = {}
        """Each split as stored on the host (``to_stored``); ``inputs`` converts it for outputs and figures."""
        self.convert = converter(cfg.normalize)
        self.placed: dict[str, tuple[tuple[torch.Tensor, ...], bool]] = {}
        self.on_device: bool | None = None
        """Whether the last split served sat on the device (None before the first)."""

    def setup(self, stage: str | None = None) -> None:
        if self.tensors:
            return
        for split, indices in self.splits.items():
            self.tensors[split] = to_stored(self.data.subset(indices), self.cfg.image_size)

    def inputs(self, split: str, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The split's first ``limit`` pairs (all: None) on the host as the network takes them (float32)."""
        self.setup()
        x, y, affine = (t[:limit] for t in self.tensors[split])
        return self.convert(x, y, affine)

    def names(self, split: str) -> list[str]:
        return [self.data.names[i] for i in self.splits[split]]

    def _device(self) -> torch.device:
        trainer = getattr(self, "trainer", None)
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def batches(self, split: str, *, shuffle: bool = False) -> DeviceBatches:
        """The split as device batches; its tensors move to the device once per run."""
        self.setup()
        device = self._device()
        if split not in self.placed:
            self.placed[split] = place(self.tensors[split], device, self.cfg.placement)
        (x, y, affine), on_device = self.placed[split]
        self.on_device = on_device
        return DeviceBatches(
            x,
            y,
            batch_size=self.cfg.batch_size,
            device=device,
            on_device=on_device,
            shuffle=shuffle,
            seed=self.seed,
            epoch=self._epoch,
            transform=self.transform if split == "train" else None,
            drop_last=split == "train" and drop_last_single(len(x), self.cfg.batch_size),
            affine=affine,
            convert=self.convert,
        )

    def _epoch(self) -> int:
        trainer = getattr(self, "trainer", None)
        return trainer.current_epoch if trainer is not None else 0

    def train_dataloader(self) -> DeviceBatches:
        return self.batches("train", shuffle=True)

    def val_dataloader(self) -> DeviceBatches:
        return self.batches("val")

    def test_dataloader(self) -> DeviceBatches:
        return self.batches("test")
