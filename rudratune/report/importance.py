"""Hyperparameter importance with Optuna's fANOVA, conditional parameters measured where they are active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, get_param_importances

from rudratune.search.results import TrialRow
from rudratune.search.space import Param

MIN_TRIALS = 3
FEW_TRIALS = 8
"""Below this many trials fANOVA's forest is fitted to a handful of points: the report says so."""


@dataclass(frozen=True)
class Importance:
    param: str
    value: float
    scope: str
    """The trials it was measured on, in words."""
    conditional: bool = False


def distribution(param: Param) -> Any:
    if param.kind == "value":
        return None
    if param.choices is not None:
        return CategoricalDistribution([str(c) for c in param.choices])
    assert param.dist is not None and param.min is not None and param.max is not None  # Param validated
    return param.dist.optuna(param.min, param.max, param.q)


def as_value(distribution: Any, value: Any) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return str(value)
    return int(value) if isinstance(distribution, IntDistribution) else float(value)


def _importances(rows: list[TrialRow], dists: dict[str, Any], metric: str) -> dict[str, float]:
    """fANOVA importances over the parameters every given trial has (Optuna ignores the others)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize" if metric == "val_loss" else "maximize")
    for row in rows:
        keys = [k for k in dists if k in row.params]
        params = {k: as_value(dists[k], row.params[k]) for k in keys}
        trial = optuna.trial.create_trial(
            params=params, distributions={k: dists[k] for k in keys}, value=float(row.best[metric])
        )
        study.add_trial(trial)
    found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    return {k: float(v) for k, v in found.items()}


def param_importances(
    rows: list[TrialRow], space: dict[str, Param], order: list[str], metric: str
) -> tuple[list[Importance], list[str]]:
    """Importances of the unconditional parameters on every trial, and of each conditional one where active.

    Returns the importances and sentences about what could not be assessed.
    """
    dists = {k: d for k in order if (d := distribution(space[k])) is not None}
    if len(rows) < MIN_TRIALS:
        return [], [f"Only {len(rows)} trial(s) reported {metric}; importance needs at least {MIN_TRIALS}."]
    if len(dists) < 2:
        return [], ["A single parameter varies, so its importance is trivially 100%."]
    overall = _importances(rows, dists, metric)
    found = [Importance(k, v, f"all {len(rows)} trials") for k, v in overall.items()]
    notes = []
    if len(rows) < FEW_TRIALS:
        notes.append(
            f"Estimated on only {len(rows)} trials (fewer than {FEW_TRIALS}): a rough hint, not a ranking "
            "to trust; run more trials before reading much into it."
        )
    for key in (k for k in dists if k not in overall):
        active = [r for r in rows if key in r.params]
        when = " and ".join(f"{c} ∈ {{{', '.join(map(str, v))}}}" for c, v in (space[key].when or {}).items())
        if len(active) < MIN_TRIALS:
            notes.append(
                f"{key} is active in {len(active)} trial(s) ({when}): too few to assess its importance."
            )
            continue
        within = _importances(active, dists, metric)
        if key in within:
            found.append(
                Importance(key, within[key], f"the {len(active)} trials where {when}", conditional=True)
            )
    return sorted(found, key=lambda i: -i.value), notes
