"""A Tune trial: the shared ``train()`` plus a callback that reports (and checkpoints) every epoch."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from rudratune.training import epoch_metrics

CHECKPOINT_FILE = "checkpoint.ckpt"
FAULT_ENV = "RUDRATUNE_TEST_FAULT"
"""Test-only hook: ``<epoch>`` raises at that epoch on a trial's first attempt; ``always:<epoch>`` on every attempt."""


class InjectedFault(RuntimeError):
    """Raised by the test-only fault hook."""


class TuneReporter(Callback):
    """Reports val_loss, val_dice, val_iou and epoch to Tune after each epoch, with a checkpoint."""

    def __init__(self, *, resumed: bool, checkpoint_every: int = 1) -> None:
        self.resumed, self.checkpoint_every = resumed, checkpoint_every

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from ray import tune

        row = {**epoch_metrics(trainer), "early_stopped": bool(trainer.should_stop)}
        _maybe_inject_fault(row["epoch"], self.resumed)
        if row["epoch"] % self.checkpoint_every and not trainer.should_stop:
            tune.report(row)
            return
        with tempfile.TemporaryDirectory(prefix="rudratune-ckpt-") as tmp:
            trainer.save_checkpoint(Path(tmp) / CHECKPOINT_FILE)
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(tmp))


def _maybe_inject_fault(epoch: int, resumed: bool) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    always, _, at = spec.rpartition(":")
    if int(at) == epoch and (always == "always" or not resumed):
        raise InjectedFault(f"test fault injected at epoch {epoch}")


def run_trial(config: dict[str, Any], *, base: dict[str, Any], data: Any) -> None:
    """Tune function trainable: overlay the suggested params on the base experiment and train."""
    from ray import tune

    from rudratune.config.experiment import experiment_from_dict
    from rudratune.runtime import quiet_defaults
    from rudratune.search.space import overlay
    from rudratune.training import RunOptions, train

    quiet_defaults()
    context = tune.get_context()
    cfg = experiment_from_dict(overlay(base, config), source=f"trial {context.get_trial_id()}")
    cpus = int(context.get_trial_resources().required_resources.get("CPU", 1)) or 1
    checkpoint = tune.get_checkpoint()
    resume_from = None
    if checkpoint is not None:
        resume_from = str(Path(checkpoint.to_directory()) / CHECKPOINT_FILE)
    options = RunOptions(
        run_dir=Path(context.get_trial_dir()),
        cpus=cpus,
        checkpoints=False,
        test=False,
        artifacts=False,
        progress=False,
        callbacks=[TuneReporter(resumed=resume_from is not None)],
        resume_from=resume_from,
    )
    train(cfg, data, options)
