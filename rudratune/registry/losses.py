"""Loss registry. Every loss takes logits of shape (B, 1, H, W) and a float target of the same shape."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rudratune.errors import UserError, unknown_name


@dataclass(frozen=True)
class LossInfo:
    name: str
    build: Callable[..., nn.Module]
    params: dict[str, Any] = field(default_factory=dict)
    """Parameters a config may set (``loss.<param>``), with their defaults."""


def _monai(cls_name: str, **fixed: Any) -> Callable[..., nn.Module]:
    def build(**params: Any) -> nn.Module:
        # local: MONAI and smp are imported only for the loss a config names
        import monai.losses

        return getattr(monai.losses, cls_name)(**fixed, **params)

    return build


def _smp(cls_name: str, **fixed: Any) -> Callable[..., nn.Module]:
    def build(**params: Any) -> nn.Module:
        # local: MONAI and smp are imported only for the loss a config names
        from segmentation_models_pytorch import losses

        return getattr(losses, cls_name)(mode="binary", **fixed, **params)

    return build


def _bce(pos_weight: float | None = None) -> nn.Module:
    return nn.BCEWithLogitsLoss(pos_weight=None if pos_weight is None else torch.tensor([pos_weight]))


_SMOOTH = {"smooth_nr": 1e-5, "smooth_dr": 1e-5}
LOSSES: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo(
            "GeneralizedDiceLoss",
            _monai("GeneralizedDiceLoss", sigmoid=True),
            {**_SMOOTH, "w_type": "square"},
        ),
        LossInfo("DiceLoss", _monai("DiceLoss", sigmoid=True), {**_SMOOTH, "squared_pred": False}),
        LossInfo("DiceCELoss", _monai("DiceCELoss", sigmoid=True), {"lambda_dice": 1.0, "lambda_ce": 1.0}),
        LossInfo(
            "DiceFocalLoss",
            _monai("DiceFocalLoss", sigmoid=True),
            {"gamma": 2.0, "lambda_dice": 1.0, "lambda_focal": 1.0},
        ),
        LossInfo("FocalLoss", _monai("FocalLoss", use_softmax=False), {"gamma": 2.0, "alpha": None}),
        LossInfo("TverskyLoss", _monai("TverskyLoss", sigmoid=True), {"alpha": 0.5, "beta": 0.5}),
        LossInfo("BCEWithLogits", _bce, {"pos_weight": None}),
        LossInfo("JaccardLoss", _smp("JaccardLoss", from_logits=True), {"smooth": 0.0}),
        LossInfo("LovaszLoss", _smp("LovaszLoss", from_logits=True), {"per_image": False}),
    )
}


def list_losses() -> list[str]:
    return list(LOSSES)


def loss_param_names() -> set[str]:
    """Every ``loss.<param>`` some loss accepts: the keys a search space may vary."""
    return {p for info in LOSSES.values() for p in info.params}


def get_loss_info(name: str, *, where: str = "loss.name") -> LossInfo:
    try:
        return LOSSES[name]
    except KeyError:
        raise unknown_name("loss", name, LOSSES, where=where) from None


CHOICES = {"w_type": ("square", "simple", "uniform")}
"""Text parameters and the values their loss takes (MONAI's ``Weight``)."""


def _value_problem(key: str, value: Any, default: Any) -> str | None:
    """Why ``value`` cannot be loss parameter ``key`` (whose default is ``default``), or None. Null is
    always fine: ``build_loss`` drops it, so the library's default stays in force."""
    if value is None:
        return None
    if key in CHOICES:
        ok = value in CHOICES[key]
        return None if ok else f"got {value!r}; valid: {', '.join(CHOICES[key])}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"got {value!r}; valid: true or false"
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        return f"got {value!r}; valid: a finite number >= 0, or null"
    return None


def check_loss_params(name: str, params: dict[str, Any], *, where: str = "loss") -> None:
    info = get_loss_info(name)
    for key, value in params.items():
        if key not in info.params:
            valid = ", ".join(info.params) or "none"
            raise UserError(f"{where}.{key}: not a parameter of {name}; its parameters: {valid}")
        problem = _value_problem(key, value, info.params[key])
        if problem:
            raise UserError(f"{where}.{key}: {problem}")


def build_loss(name: str, params: dict[str, Any]) -> nn.Module:
    """Build a loss, dropping unset (None) parameters so library defaults stay in force."""
    check_loss_params(name, params)
    return get_loss_info(name).build(**{k: v for k, v in params.items() if v is not None})
