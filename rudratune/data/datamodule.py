"""LightningDataModule over in-memory tensors, resized once per image size and served from the device."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from rudratune.config.schema import DataConfig
from rudratune.data.batches import DeviceBatches, Transform, place
from rudratune.data.checks import drop_last_single
from rudratune.data.folder import SegmentationData
from rudratune.data.split import split_indices

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_tensors(
    data: SegmentationData, size: int, normalize: str = "none"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize every pair to ``size``² (bilinear with antialias for images, nearest for masks).

    Returns images (N, C, S, S) float32 in [0, 1] (or ImageNet-normalized; one channel takes the mean of
    ImageNet's three statistics) and masks (N, 1, S, S) float32.
    """
    images, masks = [], []
    for image, mask in zip(data.images, data.masks, strict=True):
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float()
        y = torch.from_numpy(np.array(mask))[None, None].float()
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            y = F.interpolate(y, size=(size, size), mode="nearest")
        images.append(x.clamp_(0, 1))
        masks.append(y)
    x, y = torch.cat(images), torch.cat(masks)
    if normalize == "imagenet":
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        if x.shape[1] == 1:
            mean, std = mean.mean(0, keepdim=True), std.mean(0, keepdim=True)
        x = (x - mean[:, None, None]) / std[:, None, None]
    return x, y


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
        self.tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        """Each split's images and masks on the host (what outputs and figures read)."""
        self.placed: dict[str, tuple[tuple[torch.Tensor, torch.Tensor], bool]] = {}
        self.on_device: bool | None = None
        """Whether the last split served sat on the device (None before the first)."""

    def setup(self, stage: str | None = None) -> None:
        if self.tensors:
            return
        for split, indices in self.splits.items():
            self.tensors[split] = to_tensors(
                self.data.subset(indices), self.cfg.image_size, self.cfg.normalize
            )

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
        (x, y), on_device = self.placed[split]
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
