"""A Tune trial: the shared ``train()`` plus a callback that reports (and checkpoints) every epoch."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import ray
import torch
from lightning.pytorch.callbacks import Callback
from ray import tune

from rudratune.config.experiment import experiment_from_dict
from rudratune.data.source import dataset_key, load_data
from rudratune.runtime import quiet_defaults
from rudratune.search.space import overlay
from rudratune.testing.faults import fault_callbacks
from rudratune.train.loop import RunOptions, epoch_metrics, train

CHECKPOINT_FILE = "checkpoint.ckpt"


class TuneReporter(Callback):
    """Reports val_loss, val_dice, val_iou and epoch to Tune after each epoch, with a checkpoint."""

    def __init__(self, *, node_id: str = "", checkpoint_every: int = 1) -> None:
        self.node_id, self.checkpoint_every = node_id, checkpoint_every
        self.first_step_at: float | None = None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.first_step_at is None:
            self.first_step_at = time.time()  # wall clock, comparable with the driver's: start-up benchmark

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        row = {
            **epoch_metrics(trainer),
            "early_stopped": bool(trainer.should_stop),
            "first_step_at": self.first_step_at,
            "node_id": self.node_id,
            "torch_threads": torch.get_num_threads(),
        }
        if row["epoch"] % self.checkpoint_every and not trainer.should_stop:
            tune.report(row)
            return
        with tempfile.TemporaryDirectory(prefix="rudratune-ckpt-") as tmp:
            trainer.save_checkpoint(Path(tmp) / CHECKPOINT_FILE)
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(tmp))


def run_trial(config: dict[str, Any], *, base: dict[str, Any], data: Any) -> None:
    """Tune function trainable: overlay the suggested params on the base experiment and train.

    ``data`` maps ``dataset_key`` to the datasets the driver decoded (through Ray's object store), or is
    None when the sweep says the data folder is on a filesystem every node shares. A trial trains on the
    dataset of its own config, decoding it itself if the driver did not.
    """
    quiet_defaults()
    context = tune.get_context()
    cfg = experiment_from_dict(overlay(base, config), source=f"trial {context.get_trial_id()}")
    own = (data or {}).get(dataset_key(cfg.data))
    if own is None:
        own = load_data(cfg.data.root, context.get_trial_dir(), cfg.data.intensity)
    cpus = int(context.get_trial_resources().required_resources.get("CPU", 1)) or 1
    checkpoint = tune.get_checkpoint()
    with checkpoint.as_directory() if checkpoint else contextlib.nullcontext() as restored:
        resume_from = str(Path(restored) / CHECKPOINT_FILE) if restored else None
        options = RunOptions(
            run_dir=Path(context.get_trial_dir()),
            cpus=cpus,
            checkpoints=False,
            test=False,
            artifacts=False,
            progress=False,
            callbacks=[
                # first: a fault at an epoch is raised before that epoch is reported
                *fault_callbacks(resumed=resume_from is not None, params=config),
                TuneReporter(node_id=ray.get_runtime_context().get_node_id()),
            ],
            resume_from=resume_from,
        )
        train(cfg, own, options)
