"""Optimizer and LR-scheduler registries. Builders take plain values: ``bind`` picks the options an entry
takes and returns a ``functools.partial`` that the LightningModule calls with the parameters (or optimizer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from rudratune.errors import unknown_name


@dataclass(frozen=True)
class OptimizerInfo:
    name: str
    build: Callable[..., torch.optim.Optimizer]
    """(parameters, **options) → the optimizer."""
    options: tuple[str, ...]
    """The ``optimizer.*`` keys it takes."""

    def bind(self, **values: Any) -> partial[torch.optim.Optimizer]:
        """parameters → optimizer, with this entry's options taken from ``values``."""
        return partial(self.build, **{key: values[key] for key in self.options})


@dataclass(frozen=True)
class SchedulerInfo:
    name: str
    build: Callable[..., dict[str, Any] | None]
    """(optimizer, **options) → a Lightning ``lr_scheduler`` dict, or None for a constant LR."""
    options: tuple[str, ...]
    """The ``scheduler.*`` keys it takes (``max_epochs`` comes from the trainer)."""

    def bind(self, **values: Any) -> partial[dict[str, Any] | None]:
        """optimizer → ``lr_scheduler`` dict, with this entry's options taken from ``values``."""
        return partial(self.build, **{key: values[key] for key in self.options})


OPTIMIZERS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in (
        OptimizerInfo("Adam", torch.optim.Adam, ("lr", "weight_decay")),
        OptimizerInfo("AdamW", torch.optim.AdamW, ("lr", "weight_decay")),
        OptimizerInfo("SGD", torch.optim.SGD, ("lr", "momentum", "weight_decay")),
    )
}


def _plateau(opt: torch.optim.Optimizer, *, factor: float, patience: int, threshold: float) -> dict[str, Any]:
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=factor, patience=patience, threshold=threshold
    )
    return {"scheduler": sched, "monitor": "val_loss", "interval": "epoch"}


def _cosine(opt: torch.optim.Optimizer, *, max_epochs: int, eta_min: float) -> dict[str, Any]:
    return {"scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max_epochs, eta_min=eta_min)}


def _step(opt: torch.optim.Optimizer, *, step_size: int, gamma: float) -> dict[str, Any]:
    return {"scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma)}


def _constant(opt: torch.optim.Optimizer) -> None:
    return None


SCHEDULERS: dict[str, SchedulerInfo] = {
    info.name: info
    for info in (
        SchedulerInfo("plateau", _plateau, ("factor", "patience", "threshold")),
        SchedulerInfo("cosine", _cosine, ("max_epochs", "eta_min")),
        SchedulerInfo("step", _step, ("step_size", "gamma")),
        SchedulerInfo("none", _constant, ()),
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
