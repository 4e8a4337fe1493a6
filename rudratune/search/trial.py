"""A Tune trial: the shared ``train()`` plus a callback that reports every epoch and checkpoints when useful."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from rudratune.train.loop import epoch_metrics

CHECKPOINT_FILE = "checkpoint.ckpt"
FINAL_MARK = "final"
"""A file beside the last checkpoint of a trial that ended: weights only, nothing to resume."""
FAULT_ENV = "RUDRATUNE_TEST_FAULT"
"""Test-only hook, ``;``-separated specs ``[always:]EPOCH[@KEY=VALUE]``: raise at that epoch on a trial's
first attempt (or on every attempt), optionally only in trials whose config has KEY=VALUE."""


class InjectedFault(RuntimeError):
    """Raised by the test-only fault hook."""


@dataclasses.dataclass(frozen=True)
class CheckpointPolicy:
    """When a trial saves: at ASHA's rung epochs (where it is judged), when ``every_s`` seconds have passed
    since its last checkpoint (fault tolerance), and at its end (weights only: nothing is left to resume)."""

    rungs: tuple[int, ...] = ()
    every_s: float = 60.0
    max_epochs: int = 1

    def due(self, epoch: int, *, stopping: bool, since_last_s: float) -> str | None:
        """``"final"``, ``"full"`` or None (no checkpoint) after ``epoch`` (1-based)."""
        if stopping or epoch >= self.max_epochs:
            return "final"
        if epoch in self.rungs or since_last_s >= self.every_s:
            return "full"
        return None


class TuneReporter(Callback):
    """Reports val_loss, val_dice, val_iou and epoch to Tune after each epoch; checkpoints per ``policy``."""

    def __init__(
        self,
        *,
        resumed: bool,
        node_id: str = "",
        params: dict[str, Any] | None = None,
        policy: CheckpointPolicy | None = None,
    ) -> None:
        self.resumed, self.node_id = resumed, node_id
        self.policy = policy or CheckpointPolicy(every_s=0)
        self.params = params or {}
        self.first_step_at: float | None = None
        self.last_checkpoint = time.monotonic()
        self.saved: list[tuple[int, str]] = []
        """(epoch, kind) of every checkpoint this attempt wrote."""

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.first_step_at is None:
            self.first_step_at = time.time()  # wall clock, comparable with the driver's: start-up benchmark

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from ray import tune

        row = {
            **epoch_metrics(trainer),
            "early_stopped": bool(trainer.should_stop),
            "first_step_at": self.first_step_at,
            "node_id": self.node_id,
            "torch_threads": torch.get_num_threads(),
        }
        _maybe_inject_fault(row["epoch"], self.resumed, self.params)
        kind = self.policy.due(
            row["epoch"], stopping=trainer.should_stop, since_last_s=time.monotonic() - self.last_checkpoint
        )
        if kind is None:
            tune.report(row)
            return
        with tempfile.TemporaryDirectory(prefix="rudratune-ckpt-") as tmp:
            trainer.save_checkpoint(Path(tmp) / CHECKPOINT_FILE, weights_only=kind == "final")
            if kind == "final":
                (Path(tmp) / FINAL_MARK).touch()
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(tmp))
        self.saved.append((row["epoch"], kind))
        self.last_checkpoint = time.monotonic()


def _maybe_inject_fault(epoch: int, resumed: bool, params: dict[str, Any]) -> None:
    for spec in filter(None, os.environ.get(FAULT_ENV, "").split(";")):
        spec, _, condition = spec.partition("@")
        always, _, at = spec.rpartition(":")
        key, _, value = condition.partition("=")
        if int(at) != epoch or (condition and str(params.get(key)) != value):
            continue
        if always == "always" or not resumed:
            raise InjectedFault(f"test fault injected at epoch {epoch}")


def run_trial(
    config: dict[str, Any], *, base: dict[str, Any], data: Any, policy: CheckpointPolicy | None = None
) -> None:
    """Tune function trainable: overlay the suggested params on the base experiment and train.

    ``data`` is the decoded dataset from the driver (through Ray's object store), or None when the
    sweep says the data folder is on a filesystem every node shares.
    """
    import ray
    from ray import tune

    from rudratune.config.experiment import experiment_from_dict
    from rudratune.runtime import quiet_defaults
    from rudratune.search.space import overlay
    from rudratune.train.loop import RunOptions, train

    quiet_defaults()
    context = tune.get_context()
    cfg = experiment_from_dict(overlay(base, config), source=f"trial {context.get_trial_id()}")
    if data is None:
        from rudratune.data.source import load_data

        data = load_data(cfg.data.root, context.get_trial_dir())
    policy = dataclasses.replace(policy or CheckpointPolicy(), max_epochs=cfg.trainer.max_epochs)
    cpus = int(context.get_trial_resources().required_resources.get("CPU", 1)) or 1
    checkpoint = tune.get_checkpoint()
    with checkpoint.as_directory() if checkpoint else contextlib.nullcontext() as restored:
        if restored and (Path(restored) / FINAL_MARK).exists():
            return  # it had ended (the driver died before Tune recorded it): nothing to redo
        resume_from = str(Path(restored) / CHECKPOINT_FILE) if restored else None
        options = RunOptions(
            run_dir=Path(context.get_trial_dir()),
            cpus=cpus,
            checkpoints=False,
            test=False,
            artifacts=False,
            progress=False,
            callbacks=[
                TuneReporter(
                    resumed=resume_from is not None,
                    node_id=ray.get_runtime_context().get_node_id(),
                    params=config,
                    policy=policy,
                )
            ],
            resume_from=resume_from,
        )
        train(cfg, data, options)
