"""Per-image Dice and IoU on thresholded predictions.

Convention for empty masks: when the ground truth and the prediction are both empty, Dice and IoU are 1
(a correct "no pores" answer); when only one of them is empty, both are 0. Scores are computed per image and
then averaged, so small-pore images weigh as much as large-pore ones.
"""

from __future__ import annotations

import torch


def dice_iou(
    logits: torch.Tensor, target: torch.Tensor, threshold: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-image Dice and IoU, each of shape (B,), for logits and targets of shape (B, 1, H, W)."""
    pred = torch.sigmoid(logits.float()) > threshold
    truth = target > 0.5
    inter = (pred & truth).flatten(1).sum(1).float()
    p, t = pred.flatten(1).sum(1).float(), truth.flatten(1).sum(1).float()
    union = p + t - inter
    both_empty = (p + t) == 0
    dice = torch.where(both_empty, torch.ones_like(inter), 2 * inter / (p + t).clamp_min(1))
    iou = torch.where(both_empty, torch.ones_like(inter), inter / union.clamp_min(1))
    return dice, iou
