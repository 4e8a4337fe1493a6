"""LightningDataModule over in-memory tensors, resized once per image size."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from rudratune.config.schema import DataConfig
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
    """Splits decoded data 60/20/20 (by default) and serves it from memory.

    Args:
        data: decoded pairs, shared by every trial of a sweep.
        cfg: the ``data`` section of the experiment config.
        seed: split seed (the experiment seed).
        max_workers: the CPUs this process may use; loader workers never exceed it.
    """

    def __init__(self, data: SegmentationData, cfg: DataConfig, *, seed: int, max_workers: int) -> None:
        super().__init__()
        self.data, self.cfg = data, cfg
        self.num_workers = min(cfg.num_workers, max_workers)
        self.splits = dict(
            zip(
                ("train", "val", "test"),
                split_indices(
                    len(data), val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=seed
                ),
                strict=True,
            )
        )
        self.tensors: dict[str, TensorDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.tensors:
            return
        for split, indices in self.splits.items():
            x, y = to_tensors(self.data.subset(indices), self.cfg.image_size, self.cfg.normalize)
            self.tensors[split] = TensorDataset(x, y)

    def names(self, split: str) -> list[str]:
        return [self.data.names[i] for i in self.splits[split]]

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        n = len(self.tensors[split])
        return DataLoader(
            self.tensors[split],
            batch_size=self.cfg.batch_size,
            shuffle=shuffle,
            drop_last=split == "train" and drop_last_single(n, self.cfg.batch_size),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
