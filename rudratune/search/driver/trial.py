"""A Tune trial: the shared ``train()`` plus a callback that reports every epoch and checkpoints when useful."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import ray
import torch
from lightning.pytorch.callbacks import Callback
from ray import tune

from rudratune.config.experiment import apply_params
from rudratune.config.schema import ExperimentConfig
from rudratune.data.folder import SegmentationData
from rudratune.data.source import dataset_key, load_data
from rudratune.runtime import quiet_defaults
from rudratune.search.space import Constraint, first_violation
from rudratune.testing.faults import fault_callbacks
from rudratune.train.loop import History, RunOptions, train

CHECKPOINT_FILE = "checkpoint.ckpt"
FINAL_MARK = "final"
"""A file beside the last checkpoint of a trial that ended: weights only, nothing to resume."""


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
    """Reports each epoch's metrics, their running bests (``best_val_dice``, ...) and the model's cost to
    Tune; checkpoints per ``policy`` (each row says how many bytes it wrote, ``checkpoint_bytes``).

    The row is the one ``History`` (the first callback of ``train()``) has just appended, so the running
    best survives a resume from checkpoint: ASHA ranks on it, and the searcher is told the same value.
    """

    def __init__(
        self,
        *,
        node_id: str = "",
        policy: CheckpointPolicy | None = None,
        constraints: Sequence[Constraint] = (),
        required: Sequence[str] = (),
    ) -> None:
        self.node_id = node_id
        self.policy = policy or CheckpointPolicy(every_s=0)
        self.first_step_at: float | None = None
        self.last_checkpoint = time.monotonic()
        self.cost: dict[str, float] = {}
        self.constraints = [c for c in constraints if c.before_training]
        self.required = required

    def before_fit(self, cost: dict[str, float]) -> str | None:
        """Keeps the cost measured before fit (reported with every epoch); refuses a trial that breaks a
        cost constraint: it reports the cost and the reason once, and nothing trains."""
        self.cost = dict(cost)
        broken = first_violation(self.constraints, cost)
        if broken is None:
            return None
        reason = f"refused before training: {broken}"
        # Tune, ASHA and the searcher expect their metrics in every result: NaN says "not measured"
        missing = {key: math.nan for key in self.required if key not in cost}
        tune.report(
            {"epoch": 0, **missing, **cost, "refused": reason, "violation": broken, "node_id": self.node_id}
        )
        return reason

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.first_step_at is None:
            self.first_step_at = time.time()  # wall clock, comparable with the driver's: start-up benchmark

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        history = next(cb for cb in trainer.callbacks if isinstance(cb, History))
        row = {
            **history.rows[-1],
            **self.cost,
            "early_stopped": bool(trainer.should_stop),
            "first_step_at": self.first_step_at,
            "node_id": self.node_id,
            "torch_threads": torch.get_num_threads(),
        }
        kind = self.policy.due(
            row["epoch"], stopping=trainer.should_stop, since_last_s=time.monotonic() - self.last_checkpoint
        )
        if kind is None:
            tune.report({**row, "checkpoint_bytes": 0})
            return
        with tempfile.TemporaryDirectory(prefix="rudratune-ckpt-") as tmp:
            trainer.save_checkpoint(Path(tmp) / CHECKPOINT_FILE, weights_only=kind == "final")
            if kind == "final":
                (Path(tmp) / FINAL_MARK).touch()
            row["checkpoint_bytes"] = (Path(tmp) / CHECKPOINT_FILE).stat().st_size
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(tmp))
        self.last_checkpoint = time.monotonic()


def run_trial(
    config: dict[str, Any],
    *,
    base: ExperimentConfig,
    data: dict[str, SegmentationData] | None,
    policy: CheckpointPolicy | None = None,
    constraints: Sequence[Constraint] = (),
    required: Sequence[str] = (),
) -> None:
    """Tune function trainable: the suggested params on the (typed) base experiment, then train.

    ``data`` maps ``dataset_key`` to the datasets the driver decoded (through Ray's object store), or is
    None when the sweep says the data folder is on a filesystem every node shares. A trial trains on the
    dataset of its own config, decoding it itself if the driver did not. ``constraints`` on costs refuse
    the trial before it trains; ``required`` are the metrics Tune's searcher and scheduler read.
    """
    quiet_defaults()
    context = tune.get_context()
    cfg = apply_params(base, config, source=f"trial {context.get_trial_id()}")
    own = (data or {}).get(dataset_key(cfg.data))
    if own is None:
        own = load_data(cfg.data.root, context.get_trial_dir(), cfg.data.intensity)
    policy = dataclasses.replace(policy or CheckpointPolicy(), max_epochs=cfg.trainer.max_epochs)
    cpus = int(context.get_trial_resources().required_resources.get("CPU", 1)) or 1
    checkpoint = tune.get_checkpoint()
    with checkpoint.as_directory() if checkpoint else contextlib.nullcontext() as restored:
        if restored and (Path(restored) / FINAL_MARK).exists():
            return  # it had ended (the driver died before Tune recorded it): nothing to redo
        resume_from = str(Path(restored) / CHECKPOINT_FILE) if restored else None
        reporter = TuneReporter(
            node_id=ray.get_runtime_context().get_node_id(),
            policy=policy,
            constraints=constraints,
            required=required,
        )
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
                reporter,
            ],
            resume_from=resume_from,
            admit=reporter.before_fit,
        )
        train(cfg, own, options)
