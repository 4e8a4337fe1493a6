"""Test-only fault injection for sweeps: a callback that raises at a chosen epoch of a trial.

Installed only when ``RUDRATUNE_TEST_FAULT`` is set, as ``;``-separated specs ``[always:]EPOCH[@KEY=VALUE]``:
raise at that epoch on a trial's first attempt (or on every attempt), optionally only in trials whose
config has KEY=VALUE.
"""

from __future__ import annotations

import os
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

FAULT_ENV = "RUDRATUNE_TEST_FAULT"


class InjectedFault(RuntimeError):
    """Raised by the test-only fault hook."""


class FaultInjector(Callback):
    def __init__(self, specs: list[str], *, resumed: bool, params: dict[str, Any]) -> None:
        self.specs, self.resumed, self.params = specs, resumed, params

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        for spec in self.specs:
            spec, _, condition = spec.partition("@")
            always, _, at = spec.rpartition(":")
            key, _, value = condition.partition("=")
            if int(at) != epoch or (condition and str(self.params.get(key)) != value):
                continue
            if always == "always" or not self.resumed:
                raise InjectedFault(f"test fault injected at epoch {epoch}")


def fault_callbacks(*, resumed: bool, params: dict[str, Any]) -> list[Callback]:
    """The fault injector when ``RUDRATUNE_TEST_FAULT`` is set, else nothing."""
    specs = [spec for spec in os.environ.get(FAULT_ENV, "").split(";") if spec]
    return [FaultInjector(specs, resumed=resumed, params=params)] if specs else []
