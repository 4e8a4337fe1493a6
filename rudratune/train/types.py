"""What a run is given besides its config (RunOptions) and what it gives back (TrainResult)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

from rudratune.data.batches import Transform


@dataclass
class RunOptions:
    """How a run is wired, as opposed to what it trains (the config).

    ``rudratune train`` uses the defaults. A Tune trial turns off the in-process loggers (the driver
    tracks trials, so a trial stopped by ASHA still has a complete run), Lightning's top-k checkpoints
    (Tune keeps its own) and the test stage, and adds its reporting callback.
    """

    run_dir: Path
    cpus: int | None = None
    loggers: Sequence[Any] = ()
    checkpoints: bool = True
    test: bool = True
    artifacts: bool = True
    progress: bool = True
    callbacks: Sequence[Callback] = ()
    resume_from: str | None = None
    cost: bool = True
    """Measure the model's cost (params, latency, GPU memory of a step) on the run's device before fit."""
    admit: Callable[[dict[str, float]], str | None] | None = None
    """Given the measured cost, a reason to refuse the run (then nothing trains), or None to go on."""
    transform: Transform | None = None
    """Applied to each training batch on the device (augmentation), ``(x, y) -> (x, y)``."""


@dataclass
class TrainResult:
    history: list[dict[str, float]]
    test: dict[str, float] = field(default_factory=dict)
    best_checkpoint: str | None = None
    threads: int = 1
    cost: dict[str, float] = field(default_factory=dict)
    refused: str | None = None
    """Why the run was refused before training (``RunOptions.admit``), or None."""

    @property
    def best(self) -> dict[str, float]:
        """The epoch with the lowest val_loss."""
        return min(self.history, key=lambda row: row.get("val_loss", float("inf"))) if self.history else {}
