"""Ray's OptunaSearch, taught constraints (Ray's own cannot pass them to Optuna)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ray.tune.search.optuna import OptunaSearch

from rudratune.search.objectives import Constraint, violations


class ConstrainedOptunaSearch(OptunaSearch):
    """Before a trial is told, its constraint values go on its Optuna trial (``Trial.set_constraint``,
    Optuna 5's core API), so TPE and NSGA-II learn where the feasible region is.

    A trial refused before training (a cost constraint broke) has no trained metrics: it is told as
    PRUNED with its constraints set. TPE splits trials into feasible and infeasible before anything else
    and ranks the infeasible by their total violation, so it learns from it; NSGA-II breeds only from
    completed trials and leaves it out.

    Args:
        constraints: the sweep's constraints; the rest is OptunaSearch's.
    """

    def __init__(self, *args: Any, constraints: Sequence[Constraint] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._constraints = tuple(constraints)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and result and trial_id not in self._completed_trials:
            for key, value in violations(self._constraints, result).items():
                ot_trial.set_constraint(key, value)
            if result.get("refused"):
                from optuna.trial import TrialState

                self._ot_study.tell(ot_trial, state=TrialState.PRUNED)
                self._completed_trials.add(trial_id)
                return
        super().on_trial_complete(trial_id, result, error)
