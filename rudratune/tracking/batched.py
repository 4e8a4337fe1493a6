"""The per-step points of ``rudratune train`` sent once an epoch: Lightning's MLflow and W&B loggers, batched.

Each MLflow ``log_batch``, asynchronous or not, is a store transaction: on sqlite about 7 ms of the training
process's own Python (SQLAlchemy holds the GIL), made every ``log_every_n_steps`` steps. Each W&B
``run.log`` during training waits on W&B's thread, which competes with training for the GIL. Kept until the
epoch ends, an epoch's points cost one MLflow transaction and a burst of W&B calls (P7 in BENCHMARKS.md,
over the plain loop: 3.6 → 1.1–1.4 ms a step with both on, 0.7–0.8 with both off; 0.9–1.2 since the module
gives the loggers its per-step loss directly). Each point keeps its own
step and the time it was logged. What a user gives up: the per-step curve appears an epoch at a time (at most
``FLUSH_S`` late), and a ``kill -9`` loses the points not yet sent, as it loses MLflow's and W&B's own queues.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

FLUSH_S = 10.0
"""The longest a point waits: an epoch longer than this still shows its per-step curve as it goes."""
MAX_BATCH = 1000
"""MLflow's most metrics in one ``log_batch``."""


class _Kept:
    """Points kept until ``flush``; ``_send`` is the logger's own way of sending them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[Any] = []
        self._oldest: float | None = None

    def _keep(self, points: list[Any]) -> None:
        self._pending.extend(points)
        if self._oldest is None:
            self._oldest = time.monotonic()
        elif time.monotonic() - self._oldest >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Send every point kept so far."""
        pending, self._pending, self._oldest = self._pending, [], None
        if pending:
            self._send(pending)

    def _send(self, pending: list[Any]) -> None:
        raise NotImplementedError

    def finalize(self, status: str = "success") -> None:
        self.flush()
        super().finalize(status)  # type: ignore[misc]  # the logger's own


class BatchedMLFlowLogger(_Kept, MLFlowLogger):
    """Lightning's MLFlowLogger; its points go in one ``log_batch`` (up to MLflow's 1,000) at ``flush``."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        points = []
        for key, value in metrics.items():
            if isinstance(value, str):
                continue
            name = f"{self._prefix}{self.LOGGER_JOIN_CHAR}{key}" if self._prefix else key
            name = re.sub("[^a-zA-Z0-9_/. -]+", "", name)  # as Lightning's own: MLflow's allowed characters
            points.append(Metric(key=name, value=float(value), timestamp=now, step=step or 0))
        self._keep(points)

    def _send(self, pending: list[Any]) -> None:
        for start in range(0, len(pending), MAX_BATCH):
            self.experiment.log_batch(
                run_id=self.run_id, metrics=pending[start : start + MAX_BATCH], **self._log_batch_kwargs
            )


class BatchedWandbLogger(_Kept, WandbLogger):
    """Lightning's WandbLogger; its ``log_metrics`` calls are made at ``flush``, in their order."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._keep([(dict(metrics), step)])

    def _send(self, pending: list[Any]) -> None:
        for metrics, step in pending:
            super().log_metrics(metrics, step)


def flush(loggers: Sequence[Any]) -> None:
    """Send what every batched logger kept (one whose run never started has nothing)."""
    for logger in loggers:
        if isinstance(logger, _Kept):
            logger.flush()
