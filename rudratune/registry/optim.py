"""Optimizer and LR-scheduler registries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from rudratune.config.schema import OptimizerConfig, SchedulerConfig
from rudratune.errors import unknown_name


@dataclass(frozen=True)
class OptimizerInfo:
    name: str
    build: Callable[[Iterable[torch.nn.Parameter], OptimizerConfig], torch.optim.Optimizer]


@dataclass(frozen=True)
class SchedulerInfo:
    name: str
    build: Callable[[torch.optim.Optimizer, SchedulerConfig, int], dict[str, Any] | None]
    """(optimizer, config, max_epochs) → a Lightning ``lr_scheduler`` dict, or None for a constant LR."""


OPTIMIZERS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in (
        OptimizerInfo("Adam", lambda p, c: torch.optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay)),
        OptimizerInfo("AdamW", lambda p, c: torch.optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay)),
        OptimizerInfo(
            "SGD", lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        ),
    )
}


def _plateau(opt: torch.optim.Optimizer, c: SchedulerConfig, _: int) -> dict[str, Any]:
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=c.factor, patience=c.patience, threshold=c.threshold
    )
    return {"scheduler": sched, "monitor": "val_loss", "interval": "epoch"}


SCHEDULERS: dict[str, SchedulerInfo] = {
    info.name: info
    for info in (
        SchedulerInfo("plateau", _plateau),
        SchedulerInfo(
            "cosine",
            lambda o, c, n: {
                "scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=n, eta_min=c.eta_min)
            },
        ),
        SchedulerInfo(
            "step",
            lambda o, c, n: {
                "scheduler": torch.optim.lr_scheduler.StepLR(o, step_size=c.step_size, gamma=c.gamma)
            },
        ),
        SchedulerInfo("none", lambda o, c, n: None),
    )
}


def list_optimizers() -> list[str]:
    return list(OPTIMIZERS)


def list_schedulers() -> list[str]:
    return list(SCHEDULERS)


def get_optimizer_info(name: str) -> OptimizerInfo:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise unknown_name("optimizer", name, OPTIMIZERS, where="optimizer.name") from None


def get_scheduler_info(name: str) -> SchedulerInfo:
    try:
        return SCHEDULERS[name]
    except KeyError:
        raise unknown_name("scheduler", name, SCHEDULERS, where="scheduler.name") from None
