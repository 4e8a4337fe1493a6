"""The epoch series of ``rudratune train`` in its trackers: the row a sweep trial reports, at step = epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lightning.pytorch.callbacks import Callback

from rudratune.tracking.batched import flush
from rudratune.tracking.lightning import tracked_metrics


class EpochLogger(Callback):
    """Logs each epoch's row of ``history`` (the one a trial reports) to the run's loggers at step = epoch.

    The module's epoch means are logged with ``logger=False``; Lightning would log them at the global step
    under its own names, and a retrain could not be overlaid on its trial.
    """

    def __init__(self, history: Any, loggers: Sequence[Any]) -> None:
        self.history, self.loggers = history, loggers

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if not self.history.rows:
            return
        row = self.history.rows[-1]
        log_epoch(self.loggers, tracked_metrics(row), int(row["epoch"]))


def log_epoch(loggers: Sequence[Any], metrics: dict[str, float], epoch: int) -> None:
    from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            logger.log_metrics(metrics, step=epoch)  # with the epoch's per-step points: one transaction
        elif isinstance(logger, WandbLogger):  # W&B's own step stays monotonic: epoch is a logged key
            flush([logger])  # the epoch's per-step points first, as they were logged
            logger.experiment.log({**metrics, "epoch": epoch})
    flush(loggers)
