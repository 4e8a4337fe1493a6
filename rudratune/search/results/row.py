"""One trial of a finished sweep, typed: how it ended, its best and last values, its cost and its parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rudratune.search.record.endings import TrialEnding, reason_text


@dataclass(frozen=True)
class TrialRow:
    """A trial as the results table holds it.

    Attributes:
        trial_id: Ray's trial id (``c6d9e_00003``).
        ending: how it ended.
        epochs: the last epoch it reported (0: none).
        best_epoch: the epoch of its best value of the sweep's metric (None: no epoch).
        best: metric → its best value over the epochs (``val_dice`` → 0.81), every metric it reported.
        last: metric → its value at the last epoch.
        cost: ``params_m``, ``latency_ms``, ... measured once before training.
        params: the searched parameters this trial had (inactive conditional ones absent).
        feasible: every constraint held; ``violation``: the first that did not (or why it was refused).
        checkpoint: folder of its best kept checkpoint ("" when none was kept).
        trial_dir: its Ray trial folder.
        error: the last line of its error, for a failed trial.
        torch_threads: torch's intra-op threads in the trial (export pins them).
    """

    trial_id: str
    ending: TrialEnding
    epochs: int = 0
    best_epoch: int | None = None
    best: Mapping[str, float] = field(default_factory=dict)
    last: Mapping[str, float] = field(default_factory=dict)
    cost: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    feasible: bool = True
    violation: str = ""
    checkpoint: str = ""
    trial_dir: str = ""
    error: str = ""
    torch_threads: int | None = None

    @property
    def failed(self) -> bool:
        return self.ending is TrialEnding.FAILED

    @property
    def status(self) -> str:
        """Ray's words: ``ERROR`` for a failed trial, ``TERMINATED`` for every other that ended ("" before)."""
        if self.ending is TrialEnding.UNFINISHED:
            return ""
        return "ERROR" if self.failed else "TERMINATED"

    @property
    def reason(self) -> str:
        return reason_text(self.ending, self.epochs, self.violation)

    @property
    def stopped_by_asha(self) -> bool:
        return self.ending is TrialEnding.STOPPED_BY_ASHA

    @property
    def scored(self) -> bool:
        """Reported at least one trained epoch."""
        return bool(self.best)

    def value(self, key: str) -> float | None:
        """A trained metric's best value (``val_dice``) or a measured cost (``latency_ms``); None when the
        trial has none (or NaN: not measured)."""
        value = self.best.get(key, self.cost.get(key))
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
