"""Batched augmentation of training batches on the trial's device, with kornia.

kornia draws each transform's parameters per sample and applies them as batched tensor ops on
whatever device the batch is on, so a GPU trial augments on the GPU. Image and mask go through the
geometric transforms as one tensor (image channels + mask channel), so they get the same
transform by construction; the mask is then thresholded at 0.5 and stays binary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rudratune.config.schema import AugmentConfig


def _odd(n: float, limit: int) -> int:
    """An odd kernel size near ``n`` that fits an image of side ``limit``."""
    k = max(3, int(n) | 1)
    return min(k, limit if limit % 2 else limit - 1)


@dataclass(frozen=True)
class TransformInfo:
    name: str
    geometric: bool
    """Moves pixels (applied to image and mask together) rather than changing intensities (image only)."""
    build: Callable[[Any, int], list[nn.Module]]
    """(its config section, image size) → kornia augmentation modules."""


def _flip(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomHorizontalFlip(p=c.p), K.RandomVerticalFlip(p=c.p)]


def _rotate90(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomRotation90(times=(1, 3), p=c.p, align_corners=True)]


def _affine(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomAffine(degrees=c.degrees, scale=(1 - c.scale, 1 + c.scale), p=c.p)]


def _elastic(c: Any, size: int) -> list[nn.Module]:
    import kornia.augmentation as K

    k = _odd(4 * c.sigma + 1, size)
    return [
        K.RandomElasticTransform(
            kernel_size=(k, k), sigma=(c.sigma, c.sigma), alpha=(c.alpha, c.alpha), p=c.p
        )
    ]


def _brightness(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomBrightness(brightness=(1 - c.strength, 1 + c.strength), p=c.p)]


def _contrast(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomContrast(contrast=(1 - c.strength, 1 + c.strength), p=c.p)]


def _gamma(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomGamma(gamma=(1 - c.strength, 1 + c.strength), p=c.p)]


def _noise(c: Any, _: int) -> list[nn.Module]:
    import kornia.augmentation as K

    return [K.RandomGaussianNoise(std=c.std, p=c.p)]


def _blur(c: Any, size: int) -> list[nn.Module]:
    import kornia.augmentation as K

    k = _odd(6 * c.sigma + 1, size)
    return [K.RandomGaussianBlur(kernel_size=(k, k), sigma=(0.1, c.sigma), p=c.p)]


TRANSFORMS: dict[str, TransformInfo] = {
    info.name: info
    for info in (
        TransformInfo("flip", True, _flip),
        TransformInfo("rotate90", True, _rotate90),
        TransformInfo("affine", True, _affine),
        TransformInfo("elastic", True, _elastic),
        TransformInfo("brightness", False, _brightness),
        TransformInfo("contrast", False, _contrast),
        TransformInfo("gamma", False, _gamma),
        TransformInfo("noise", False, _noise),
        TransformInfo("blur", False, _blur),
    )
}
"""Applied in this order: geometry first, then intensities."""


def list_transforms() -> list[str]:
    return list(TRANSFORMS)


class Augmenter:
    """Augments a training batch (a plain callable, not a submodule: checkpoints stay the same) ``(x, y)``: x (B, C, H, W) images, y (B, 1, H, W) binary masks.

    Args:
        cfg: the ``augment`` section; transforms with p = 0 are left out.
        image_size: the square side of the batches (kernel sizes are capped to it).
        mean, std: the normalization the images carry (None: images in [0, 1]); intensity transforms
            work on [0, 1] images, so normalized batches are unnormalized around them.
    """

    def __init__(
        self,
        cfg: AugmentConfig,
        *,
        image_size: int,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        import kornia.augmentation as K

        chosen = [info for name, info in TRANSFORMS.items() if getattr(cfg, name).p > 0]
        geometric = [m for i in chosen if i.geometric for m in i.build(getattr(cfg, i.name), image_size)]
        intensity = [m for i in chosen if not i.geometric for m in i.build(getattr(cfg, i.name), image_size)]
        self.geometric = K.ImageSequential(*geometric) if geometric else None
        self.intensity = K.ImageSequential(*intensity) if intensity else None
        self.names = [i.name for i in chosen]
        self.mean, self.std = mean, std

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = x.dtype
        with torch.autocast(x.device.type, enabled=False):
            x, y = x.float(), y.float()
            if self.mean is not None:
                mean = x.new_tensor(self.mean)[None, :, None, None]
                std = x.new_tensor(self.std)[None, :, None, None]
                x = x * std + mean
            if self.geometric is not None:
                both = self.geometric(torch.cat([x, y], dim=1))
                x, y = both[:, :-1], (both[:, -1:] > 0.5).to(y.dtype)
            if self.intensity is not None:
                x = self.intensity(x.clamp(0, 1)).clamp(0, 1)
            if self.mean is not None:
                x = (x - mean) / std
        return x.to(dtype), y


def build_augmenter(cfg: AugmentConfig, *, image_size: int, normalize: str) -> Augmenter | None:
    """The augmenter for a run, or None when every transform is off (the recipe runs unchanged)."""
    if not cfg.enabled:
        return None
    from rudratune.data.datamodule import IMAGENET_MEAN, IMAGENET_STD

    stats = (IMAGENET_MEAN, IMAGENET_STD) if normalize == "imagenet" else (None, None)
    return Augmenter(cfg, image_size=image_size, mean=stats[0], std=stats[1])
