"""ASHA with a measured first rung (``search.scheduler.grace_period: auto``).

Asynchronous successive halving decides at rungs: a trial that reaches one below the top ``1/reduction`` of the
values recorded there stops. Where the first rung sits is usually a guess (Ray's default: epoch 1). On a
noisy task the ranking after one epoch says little about the final one (P3 in BENCHMARKS.md: Spearman 0.28
at epoch 1 of 8), and ASHA's stops there are close to chance. This scheduler measures instead: it stops
nothing until ``MIN_TRIALS`` trials have run every epoch, then puts the first rung at the first epoch whose
ranking agreed with those trials' final ranking (Spearman >= ``GOOD``, the strength ``results.rung_warning``
checks after a sweep, and beyond what chance gives that many trials: ``space.chance_level``) and runs ASHA
from there. Where no epoch agreed, it never stops a trial: early stopping would be chance. Trials already
past a new rung when it is placed go on; their values there join its cut-off.

The decision is written to ``<sweep>/rungs.json`` as soon as it is made, so a resumed sweep keeps it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from rudratune.search.record import RungDecision, SweepRecord
from rudratune.search.space import MIN_TRIALS, RungPlan, agreement, settled


def decide_grace(histories: list[list[float]], max_t: int) -> tuple[int | None, dict[int, float]]:
    """The first epoch whose ranking agreed with the final one (None: no epoch did), and every epoch's
    Spearman correlation, over the histories that cover all ``max_t`` epochs."""
    by_epoch = agreement(histories, max_t)
    n = sum(len(h) >= max_t for h in histories)
    grace = next((e for e, rho in sorted(by_epoch.items()) if settled(rho, n)), None)
    return grace, by_epoch


class MeasuredASHA(FIFOScheduler):
    """Asynchronous successive halving on ``metric`` whose grace period is measured during the sweep.

    Args:
        metric, mode: what trials are ranked by (the running best ``rank_<metric>``) and its direction.
        max_t: the most epochs a trial runs.
        reduction_factor: ASHA's ``rf``: rungs at ``grace·rf^k`` below ``max_t``; the top ``1/rf`` goes on.
        run_dir: where the decision is written (``rungs.json``) and read back when Tune restores the sweep
            (it unpickles the scheduler as it was at the start), or None.
    """

    def __init__(
        self, *, metric: str, mode: str, max_t: int, reduction_factor: float, run_dir: Path | None = None
    ) -> None:
        super().__init__()
        self._metric, self._mode = metric, mode  # what Tune checks every result against
        self.sign = 1.0 if mode == "max" else -1.0
        self.max_t, self.rf, self.run_dir = max_t, reduction_factor, run_dir
        self.values: dict[str, dict[int, float]] = {}
        """trial id → epoch → ranking value (sign-adjusted: larger is better)."""
        self.decision: RungDecision | None = None
        self.recorded: dict[int, dict[str, float]] = {}
        """rung epoch → trial id → its value there."""
        self._read_back()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._read_back()

    def _read_back(self) -> None:
        decided = RungDecision.read(self.run_dir) if self.run_dir is not None else None
        if decided is not None and self.decision is None:
            self._adopt(decided)

    @property
    def rungs(self) -> tuple[int, ...]:
        """The rung epochs below ``max_t`` (empty until decided, and when no epoch agreed)."""
        grace = self.decision.grace_period if self.decision is not None else None
        return () if grace is None else RungPlan(grace, self.rf, self.max_t).decisions

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return metric in (None, self._metric) and mode in (None, self._mode)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        epoch, value = int(result.get("epoch", 0)), result.get(self.metric)
        if epoch < 1 or not isinstance(value, int | float) or math.isnan(value):
            return TrialScheduler.CONTINUE  # refused before training, or nothing measured
        self.values.setdefault(trial.trial_id, {})[epoch] = self.sign * float(value)
        if self.decision is None:
            self._maybe_decide()
            if self.decision is None:
                return TrialScheduler.CONTINUE
        return self._judge(trial.trial_id)

    def _maybe_decide(self) -> None:
        histories = [self._history(t) for t in self.values]
        if sum(len(h) >= self.max_t for h in histories) < MIN_TRIALS:
            return
        grace, by_epoch = decide_grace(histories, self.max_t)
        decision = RungDecision(
            grace_period=grace,
            spearman={e: round(rho, 3) for e, rho in by_epoch.items()},
            after_trials=sum(len(h) >= self.max_t for h in histories),
        )
        self._adopt(decision)
        # every trial so far is past the rungs it reached: its values there set the first cut-offs, and a
        # trial still running goes on (ASHA stops only at a rung, so "stopped by ASHA at epoch e" stays true)
        for trial_id, history in zip(self.values, histories, strict=True):
            for rung in self.rungs:
                if len(history) >= rung:
                    self.recorded[rung][trial_id] = history[rung - 1]
        if self.run_dir is not None:
            decision.save(self.run_dir)

    def _adopt(self, decision: RungDecision) -> None:
        self.decision = decision
        self.recorded = {rung: {} for rung in self.rungs}

    def _history(self, trial_id: str) -> list[float]:
        """Values from epoch 1 on, up to the first missing epoch."""
        values, out = self.values[trial_id], list[float]()
        while len(out) + 1 in values:
            out.append(values[len(out) + 1])
        return out

    def _judge(self, trial_id: str) -> str:
        """ASHA's rule at each rung this trial has reached and not yet been judged at, by its value there."""
        history = self._history(trial_id)
        for rung in self.rungs:
            recorded = self.recorded[rung]
            if len(history) < rung or trial_id in recorded:
                continue
            value = history[rung - 1]
            cutoff = np.percentile(list(recorded.values()), (1 - 1 / self.rf) * 100) if recorded else None
            recorded[trial_id] = value
            if cutoff is not None and value < cutoff:
                return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def debug_string(self) -> str:
        return f"MeasuredASHA: rungs {list(self.rungs) or 'not yet measured'}"


def build_scheduler(record: SweepRecord) -> Any:
    """The sweep's Tune scheduler: FIFO, ASHA with fixed rungs (Ray's), or ASHA with a measured first rung."""
    cfg = record.sweep.settings.search.scheduler
    if cfg.name == "fifo":
        return FIFOScheduler()
    max_t = record.sweep.max_epochs
    if cfg.measured:
        settings = record.sweep.settings
        return MeasuredASHA(
            metric=settings.rank_metric,
            mode=settings.direction,
            max_t=max_t,
            reduction_factor=cfg.reduction_factor,
            run_dir=record.run_dir.resolve(),
        )
    grace = cfg.fixed_grace
    assert grace is not None  # ASHA and not measured: a fixed grace period (the settings' type says so)
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=max_t,
        grace_period=min(grace, max_t),
        reduction_factor=cfg.reduction_factor,
    )
