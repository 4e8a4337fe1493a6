"""Per-image Dice and IoU on thresholded predictions, the fixed reference loss, and the table of metrics.

Convention for empty masks: when the ground truth and the prediction are both empty, Dice and IoU are 1
(a correct "no pores" answer); when only one of them is empty, both are 0. Scores are computed per image and
then averaged, so small-pore images weigh as much as large-pore ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

REF_DICE_WEIGHT = 0.5
REF_BCE_WEIGHT = 0.5
REF_SMOOTH = 1.0
REFERENCE_LOSS = (
    f"val_ref_loss = {REF_DICE_WEIGHT} * (1 - soft Dice) + {REF_BCE_WEIGHT} * BCE, on sigmoid(logits) "
    f"against the 0/1 mask; soft Dice = (2 sum(p t) + {REF_SMOOTH:g}) / (sum p + sum t + {REF_SMOOTH:g}) "
    "per image, averaged over images; BCE = mean binary cross-entropy with logits over every pixel. "
    "Fixed: the same for every trial, whatever loss it trains with."
)


@dataclass(frozen=True)
class MetricInfo:
    """A validation figure a sweep can rank by."""

    name: str
    direction: Literal["min", "max"]
    depends_on_loss: bool
    """True when its value depends on the training loss (so trials with different losses are not comparable)."""
    meaning: str
    ties: bool = False
    """True for thresholded scores: early in training many trials score exactly 0 (nothing predicted yet),
    so their ranking key breaks ties with the reference loss (see ``ranking_value``)."""


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("val_loss", "min", True, "the trial's own training loss on the validation split"),
        MetricInfo("val_dice", "max", False, "mean per-image Dice of the thresholded prediction (0.5)", True),
        MetricInfo("val_iou", "max", False, "mean per-image IoU of the thresholded prediction (0.5)", True),
        MetricInfo("val_ref_loss", "min", False, REFERENCE_LOSS),
    )
}
"""The one place that says which metrics exist, their direction and whether they depend on the loss."""


def comparable_metrics() -> list[str]:
    return [name for name, info in METRICS.items() if not info.depends_on_loss]


def running_best_key(metric: str) -> str:
    """The key under which a trial reports the best value of ``metric`` so far (what ASHA ranks on)."""
    return f"best_{metric}"


TIE_BREAK = 1e-6
"""Weight of ``val_ref_loss`` in the ranking value of a thresholded score: small enough never to reorder
scores that differ by more than 1e-3 (the reference loss is clamped to [0, 1000]), large enough to order
the trials that tie, e.g. every trial at val Dice 0.0 after its first epoch."""


def ranking_key(metric: str) -> str:
    """The key ASHA and the searcher rank on: the running best of ``ranking_value`` (``rank_val_dice``)."""
    return f"rank_{metric}"


def ranking_value(metric: str, row: dict[str, float]) -> float:
    """``row[metric]``, with ties of a thresholded score broken by the reference loss of the same epoch:
    of two trials at val Dice 0.0, the one whose probabilities are closer to the masks ranks higher."""
    value, info = float(row[metric]), METRICS[metric]
    ref = row.get("val_ref_loss")
    if not info.ties or ref is None or ref != ref:  # ref != ref: NaN
        return value
    penalty = TIE_BREAK * min(max(float(ref), 0.0), 1000.0)
    return value - penalty if info.direction == "max" else value + penalty


def dice_iou(
    logits: torch.Tensor, target: torch.Tensor, threshold: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-image Dice and IoU, each of shape (B,), for logits and targets of shape (B, 1, H, W)."""
    import torch  # local: the metric table above is read by the sweep's config and report, which skip torch

    pred = torch.sigmoid(logits.float()) > threshold
    truth = target > 0.5
    inter = (pred & truth).flatten(1).sum(1).float()
    p, t = pred.flatten(1).sum(1).float(), truth.flatten(1).sum(1).float()
    union = p + t - inter
    both_empty = (p + t) == 0
    dice = torch.where(both_empty, torch.ones_like(inter), 2 * inter / (p + t).clamp_min(1))
    iou = torch.where(both_empty, torch.ones_like(inter), inter / union.clamp_min(1))
    return dice, iou


def reference_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The fixed reference loss (see ``REFERENCE_LOSS``), a scalar, for (B, 1, H, W) logits and targets."""
    import torch
    from torch.nn import functional as F

    logits, truth = logits.float(), (target > 0.5).float()
    probs = torch.sigmoid(logits).flatten(1)
    flat = truth.flatten(1)
    soft_dice = (2 * (probs * flat).sum(1) + REF_SMOOTH) / (probs.sum(1) + flat.sum(1) + REF_SMOOTH)
    bce = F.binary_cross_entropy_with_logits(logits, truth)
    return REF_DICE_WEIGHT * (1 - soft_dice.mean()) + REF_BCE_WEIGHT * bce
