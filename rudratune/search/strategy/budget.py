"""``search.budget_trial_epochs``: a Tune stopper that ends the sweep once a budget of trial-epochs is spent."""

from __future__ import annotations

from typing import Any

from ray.tune.stopper import Stopper

from rudratune.search.space import SweepSettings


class TrialEpochBudget(Stopper):
    """Ends the sweep once its trials have run ``budget`` epochs in all: the sum over trials of the last epoch
    each reported, which is what the sweep's results count (``driver.runner.epochs_used``).

    Counting results instead would overcount: Tune passes a finished trial's last result to the stopper a
    second time (its end-of-trial duplicate). Trials still running when the budget is reached are stopped
    after the epoch they are in, so concurrent trials may add an epoch or so beyond the budget. Tune pickles
    the stopper with the experiment; how much of the count survives ``rudratune resume`` is whatever Tune
    restores (not tested).
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.epochs: dict[str, int] = {}
        """trial id → the last epoch it reported."""

    @property
    def used(self) -> int:
        return sum(self.epochs.values())

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        epoch = int(result.get("epoch") or 0)
        self.epochs[trial_id] = max(self.epochs.get(trial_id, 0), epoch)
        return False

    def stop_all(self) -> bool:
        return self.used >= self.budget


def build_stopper(settings: SweepSettings) -> TrialEpochBudget | None:
    """The sweep's trial-epoch budget as a Tune stopper, or None when it has none."""
    budget = settings.search.budget_trial_epochs
    return None if budget is None else TrialEpochBudget(budget)
