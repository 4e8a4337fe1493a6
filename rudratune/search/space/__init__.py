"""What a sweep searches: the search-space YAML typed (settings, parameters, distributions, objectives and
constraints), the validated ``Sweep`` with its Optuna define-by-run function, and the rule that places a
measured rung. No Ray, no torch."""

from rudratune.search.space.checks import sweep_warnings
from rudratune.search.space.distributions import DISTRIBUTIONS, DistributionInfo
from rudratune.search.space.objectives import (
    Constraint,
    direction_of,
    first_violation,
    objective_names,
    parse_constraint,
    parse_constraints,
    trained_value,
    violations,
)
from rudratune.search.space.rungs import (
    CHANCE,
    GOOD,
    MIN_TRIALS,
    RungPlan,
    agreement,
    chance_level,
    ranks,
    settled,
    spearman,
)
from rudratune.search.space.settings import (
    SWEEP_KEYS,
    CheckpointSettings,
    Param,
    Resources,
    SearcherSettings,
    SearchSettings,
    SweepSettings,
    TrialSchedulerSettings,
    default_startup_trials,
)
from rudratune.search.space.sweep import (
    MAX_COMBINATIONS,
    DefineByRun,
    Sweep,
    assignments,
    define_by_run,
    grid_points,
    load_sweep,
)

__all__ = [
    "CHANCE",
    "DISTRIBUTIONS",
    "GOOD",
    "MAX_COMBINATIONS",
    "MIN_TRIALS",
    "SWEEP_KEYS",
    "CheckpointSettings",
    "Constraint",
    "DefineByRun",
    "DistributionInfo",
    "Param",
    "Resources",
    "RungPlan",
    "SearchSettings",
    "SearcherSettings",
    "Sweep",
    "SweepSettings",
    "TrialSchedulerSettings",
    "agreement",
    "assignments",
    "chance_level",
    "default_startup_trials",
    "define_by_run",
    "direction_of",
    "first_violation",
    "grid_points",
    "load_sweep",
    "objective_names",
    "parse_constraint",
    "parse_constraints",
    "ranks",
    "settled",
    "spearman",
    "sweep_warnings",
    "trained_value",
    "violations",
]
