"""Probabilities for raw images: each member decodes and resizes an image exactly as its training data was
(``rudratune.data.preprocess`` and ``rudratune.data.datamodule``), predicts at its training size, and its
probabilities are resized back to the image's own size (bilinear) and averaged over members.

Mirror test-time augmentation (``tta``) averages the four flips (none, left-right, up-down, both), each
flipped back, before the member's probabilities leave its training size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from rudratune.data import preprocess
from rudratune.data.datamodule import _resized, converter
from rudratune.errors import UserError
from rudratune.inference.members import Member, Predictor

FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))
"""Mirror TTA: every flip of the two image axes (as nnU-Net mirrors), each undone on the output."""


class ChannelError(ValueError):
    """An image with more colour channels than the network was trained on."""


def device_for(name: str = "auto") -> torch.device:
    """``auto``: the GPU when torch sees one, else the CPU; ``cpu``, ``cuda`` or ``cuda:N`` of a GPU that
    torch sees (a ``UserError`` naming those there are otherwise)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    valid = ["auto", "cpu", *(["cuda"] if gpus else []), *(f"cuda:{i}" for i in range(gpus))]
    if name not in valid:
        seen = f"{gpus} GPU(s) that torch can use" if gpus else "no GPU that torch can use"
        raise UserError(f"--device: got {name!r}; this machine has {seen}; valid: {', '.join(valid)}")
    return torch.device(name)


def inputs(member: Member, raws: Sequence[np.ndarray]) -> torch.Tensor:
    """(N, C, S, S) float32 as the member's network saw its training batches: ``store`` and the affine at
    the image's own size, the resize in the stored type (bilinear, antialias), ``unit``, normalization."""
    stored, affines = [], []
    for raw in raws:
        try:
            image, _ = preprocess.store(raw, member.channels)
        except ValueError as err:
            raise ChannelError(str(err)) from None
        affines.append(preprocess.affine(member.decoding, image, raw.dtype))
        stored.append(_resized(image, member.image_size).float())
    x = torch.cat(stored)
    affine = torch.tensor(np.asarray(affines, dtype=np.float32)).reshape(-1, 2)
    converted, _ = converter(member.cfg.data.normalize)(x, torch.zeros(len(x)), affine)
    return converted


@torch.inference_mode()
def at_training_size(
    member: Member, raws: Sequence[np.ndarray], *, tta: bool = False, device: torch.device | None = None
) -> torch.Tensor:
    """The member's probabilities (N, 1, S, S) at its training size S, on the CPU."""
    device = device or device_for()
    net = member.net(device)
    x = inputs(member, raws).to(device)
    flips = FLIPS if tta else FLIPS[:1]
    total = torch.zeros((len(x), 1, *x.shape[-2:]), device=device)
    for dims in flips:
        logits = net(x.flip(dims) if dims else x).float()
        total += torch.sigmoid(logits.flip(dims) if dims else logits)
    return (total / len(flips)).cpu()


def resize_back(probs: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    """(1, S, S) probabilities to (H, W) float32 at the image's own size (bilinear; antialias when it
    shrinks)."""
    if tuple(probs.shape[-2:]) == shape:
        return probs[0].numpy()
    shrink = shape[0] < probs.shape[-2] or shape[1] < probs.shape[-1]
    out = F.interpolate(probs[None], size=shape, mode="bilinear", align_corners=False, antialias=shrink)
    return out[0, 0].clamp_(0, 1).numpy()


def probabilities(
    predictor: Predictor, raws: Sequence[np.ndarray], *, device: torch.device | None = None
) -> list[np.ndarray]:
    """Each image's foreground probability (H, W) float32 at its own size, averaged over the members (or
    the served model's own, ``Predictor.forward``)."""
    if predictor.forward is not None:
        return predictor.forward(list(raws))
    device = device or device_for()
    shapes = [(int(r.shape[0]), int(r.shape[1])) for r in raws]
    sums = [np.zeros(shape, dtype=np.float32) for shape in shapes]
    for member in predictor.members:
        probs = at_training_size(member, raws, tta=predictor.tta, device=device)
        for total, p, shape in zip(sums, probs, shapes, strict=True):
            total += resize_back(p, shape)
    return [s / len(predictor.members) for s in sums]


def tiled(
    predictor: Predictor, raw: np.ndarray, tile: int, *, device: torch.device | None = None
) -> np.ndarray:
    """One image's probabilities predicted tile by tile (``tile``² pixels of the image, the last row and
    column of tiles moved in to end at its edge, overlaps averaged): each tile is resized to the training
    size, so a large image is seen at the scale of training images ``tile`` pixels wide."""
    h, w = raw.shape[:2]
    starts = [_starts(h, tile), _starts(w, tile)]
    total, count = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    boxes = [(r, c) for r in starts[0] for c in starts[1]]
    crops = [raw[r : r + tile, c : c + tile] for r, c in boxes]
    for (r, c), p in zip(boxes, probabilities(predictor, crops, device=device), strict=True):
        total[r : r + p.shape[0], c : c + p.shape[1]] += p
        count[r : r + p.shape[0], c : c + p.shape[1]] += 1
    return total / count


def _starts(length: int, tile: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile))
    return [*starts, length - tile]
