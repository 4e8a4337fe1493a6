"""``search.budget_trial_epochs``: a Tune stopper that ends the sweep once a budget of trial-epochs is spent."""

from __future__ import annotations

from typing import Any

from ray.tune.stopper import Stopper


class TrialEpochBudget(Stopper):
    """Ends the sweep once its trials have reported ``budget`` epochs in all.

    Every reported result is one epoch of one trial. Trials still running when the budget is reached are
    stopped after the epoch they are in, so concurrent trials may add an epoch or so beyond the budget.
    Tune pickles the stopper with the experiment; how much of the count survives ``rudratune resume`` is
    whatever Tune restores (not tested).
    """

    def __init__(self, budget: int) -> None:
        self.budget, self.used = budget, 0

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self.used += 1
        return False

    def stop_all(self) -> bool:
        return self.used >= self.budget
