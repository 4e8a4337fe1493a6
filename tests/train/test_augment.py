"""Augmentation: masks follow their images through every geometric transform, masks stay binary,
intensity transforms leave masks alone, a seed reproduces a batch, and the default changes nothing."""

from __future__ import annotations

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from rudratune.config.schema import AugmentConfig
from rudratune.train.augment import TRANSFORMS, build_augmenter, list_transforms

SIZE = 64


def _blobs(n: int = 6, seed: int = 0) -> torch.Tensor:
    """Binary masks of irregular blobs, no symmetry a flip or rotation could hide behind."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, 1, SIZE // 8, SIZE // 8, generator=g)
    return (F.interpolate(noise, size=(SIZE, SIZE), mode="bilinear") > 0.6).float()


def _only(name: str, **strength: float) -> AugmentConfig:
    return AugmentConfig.model_validate({name: {"p": 1.0, **strength}})


@pytest.mark.parametrize("name", [n for n in list_transforms() if TRANSFORMS[n].geometric])
def test_mask_stays_aligned_with_an_image_equal_to_it(name: str) -> None:
    mask = _blobs()
    image = mask.repeat(1, 3, 1, 1)
    augment = build_augmenter(_only(name), image_size=SIZE, normalize="none")
    L.seed_everything(1, verbose=False)
    x, y = augment(image, mask)
    assert y.shape == mask.shape and x.shape == image.shape
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(y, mask), f"{name} with p=1 left every mask as it was"
    assert torch.equal((x > 0.5).float(), y.expand_as(x)), f"{name}: mask and image no longer line up"


@pytest.mark.parametrize("name", [n for n in list_transforms() if not TRANSFORMS[n].geometric])
def test_intensity_transforms_change_the_image_only(name: str) -> None:
    mask = _blobs()
    image = 0.25 + 0.5 * torch.rand(mask.shape[0], 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
    augment = build_augmenter(_only(name), image_size=SIZE, normalize="none")
    L.seed_everything(1, verbose=False)
    x, y = augment(image, mask)
    assert torch.equal(y, mask)
    assert not torch.allclose(x, image), f"{name} with p=1 left the images as they were"
    assert x.min() >= 0 and x.max() <= 1


def test_imagenet_normalized_batches_come_back_normalized() -> None:
    from rudratune.data.datamodule import IMAGENET_MEAN, IMAGENET_STD

    mask = _blobs()
    raw = mask.repeat(1, 3, 1, 1)
    mean, std = (
        torch.tensor(IMAGENET_MEAN)[None, :, None, None],
        torch.tensor(IMAGENET_STD)[None, :, None, None],
    )
    augment = build_augmenter(_only("rotate90"), image_size=SIZE, normalize="imagenet")
    x, y = augment((raw - mean) / std, mask)
    assert (x * std + mean - y).abs().max() < 1e-3


def test_a_seed_reproduces_the_batch_and_another_seed_does_not() -> None:
    cfg = AugmentConfig.model_validate(
        {name: {"p": 0.5} for name in list_transforms()}  # every transform at once
    )
    augment = build_augmenter(cfg, image_size=SIZE, normalize="none")
    mask = _blobs()
    image = mask.repeat(1, 3, 1, 1) * 0.8 + 0.1
    outs = []
    for seed in (7, 7, 8):
        L.seed_everything(seed, verbose=False)
        outs.append(augment(image, mask))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert not torch.equal(outs[0][0], outs[2][0])


def test_off_by_default() -> None:
    assert not AugmentConfig().enabled
    assert build_augmenter(AugmentConfig(), image_size=SIZE, normalize="none") is None


def test_only_training_batches_are_augmented() -> None:
    from rudratune.train.module import SegmentationModule

    seen: dict[str, torch.Tensor] = {}

    class Probe(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen["x"] = x
            return x[:, :1] * 2 - 1

    module = SegmentationModule(
        Probe(),
        torch.nn.BCEWithLogitsLoss(),
        optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
        scheduler=lambda o: None,
        augment=build_augmenter(_only("flip"), image_size=SIZE, normalize="none"),
    )
    module.trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    mask = _blobs()
    image = mask.repeat(1, 3, 1, 1)
    L.seed_everything(0, verbose=False)
    module.validation_step((image, mask), 0)
    assert torch.equal(seen["x"], image)
    module.training_step((image, mask), 0)
    assert not torch.equal(seen["x"], image)
