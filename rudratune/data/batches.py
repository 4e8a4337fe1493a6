"""Batches drawn by index from tensors that already sit on the trial's device: no workers, no collation.

A split's decoded, resized tensors (images in their own type, masks as uint8) are moved to the device once,
and each batch becomes float32 there (``convert``); each epoch a seeded permutation (a
function of the seed and the epoch only, so a resumed run draws the same batches) picks the batches.
When the data would take too much of the GPU, it stays in pinned host memory and each batch is copied
to the device on its own (``non_blocking``), which overlaps the copy with the previous step's work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

Batch = tuple[torch.Tensor, torch.Tensor]
Transform = Callable[[torch.Tensor, torch.Tensor], Batch]
"""Applied to every training batch on the device (augmentation hooks in here), ``(x, y) -> (x, y)``."""
Convert = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Batch]
"""Turns a stored batch into the network's input on the device: ``(x, y, affine) -> (x, y)`` (float32)."""

DEVICE_DATA_FRACTION = 0.25
"""Data goes on the GPU when it takes at most this share of the memory free there at the start."""


def epoch_order(n: int, *, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of ``n`` samples for one epoch: the same on every device and every resume."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def place(
    tensors: tuple[torch.Tensor, ...], device: torch.device, placement: str
) -> tuple[tuple[torch.Tensor, ...], bool]:
    """Move a split's tensors where batches will be drawn: ``(tensors, on_device)``.

    ``placement``: ``device`` always moves them, ``host`` never does, ``auto`` moves them when they fit in
    ``DEVICE_DATA_FRACTION`` of the device's free memory. On a CPU the host is the device.
    """
    if device.type == "cpu":
        return tensors, True
    nbytes = sum(t.numel() * t.element_size() for t in tensors)
    if placement == "auto" and device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        placement = "device" if nbytes <= DEVICE_DATA_FRACTION * free else "host"
    if placement == "host":
        x, y = tensors
        return ((x.pin_memory(), y.pin_memory()) if device.type == "cuda" else (x, y)), False
    return (tensors[0].to(device), tensors[1].to(device)), True


@dataclass
class DeviceBatches:
    """An iterable of ``(x, y)`` batches that Lightning takes in place of a DataLoader.

    Args:
        x, y: the split's images and masks, on ``device`` or (``on_device=False``) in host memory.
        batch_size: samples per batch; the last batch of an epoch may be smaller.
        device: where batches are delivered.
        shuffle: draw a new seeded order each epoch (training) or keep the split's order.
        seed, epoch: the order is ``epoch_order(len, seed=seed, epoch=epoch())``.
        transform: applied to each batch after it reaches the device (training batches only).
        affine, convert: each sample's ``(low, scale)`` (N, 2), drawn with it, and the function that makes
            a stored batch float32 on the device (None: ``x`` and ``y`` are used as they are).
    """

    x: torch.Tensor
    y: torch.Tensor
    batch_size: int
    device: torch.device
    on_device: bool = True
    shuffle: bool = False
    seed: int = 0
    epoch: Callable[[], int] = lambda: 0
    transform: Transform | None = None
    drop_last: bool = False
    """Leave out the epoch's last, short batch (the datamodule asks for it when it would hold one pair)."""
    affine: torch.Tensor | None = None
    convert: Convert | None = None

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        n = len(self.x)
        order = epoch_order(n, seed=self.seed, epoch=self.epoch()) if self.shuffle else None
        if order is not None and self.on_device:
            order = order.to(self.x.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index: slice | torch.Tensor = (
                slice(start, start + self.batch_size)
                if order is None
                else order[start : start + self.batch_size]
            )
            x, y = self.x[index], self.y[index]
            a = self.affine[index] if self.affine is not None else None
            if not self.on_device:
                x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
                a = a.to(self.device, non_blocking=True) if a is not None else None
            if self.convert is not None and a is not None:
                x, y = self.convert(x, y, a)
            if self.transform is not None:
                x, y = self.transform(x, y)
            yield x, y
