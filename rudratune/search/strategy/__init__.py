"""How a sweep searches: the Optuna sampler and Ray's OptunaSearch around it, the trial-epoch budget, and the
scheduler (FIFO, ASHA with fixed rungs, or ASHA with a measured first rung)."""

from rudratune.search.strategy.asha import MeasuredASHA, build_scheduler, decide_grace
from rudratune.search.strategy.budget import TrialEpochBudget, build_stopper
from rudratune.search.strategy.sampling import make_sampler
from rudratune.search.strategy.searcher import (
    ConstrainedOptunaSearch,
    build_searcher,
    relocate_study,
    study_storage,
)

__all__ = [
    "ConstrainedOptunaSearch",
    "MeasuredASHA",
    "TrialEpochBudget",
    "build_scheduler",
    "build_searcher",
    "build_stopper",
    "decide_grace",
    "make_sampler",
    "relocate_study",
    "study_storage",
]
