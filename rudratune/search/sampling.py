"""The Optuna sampler a sweep's ``search.searcher`` names, shared by the search and its dry run."""

from __future__ import annotations

from typing import Any

from rudratune.search.settings import SweepSettings


def make_sampler(settings: SweepSettings) -> Any:
    """A seeded TPE sampler for ``optuna``, a seeded random sampler otherwise."""
    import optuna  # local: `rudratune run` validates the space before paying for optuna's import

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = settings.search.searcher
    if cfg.name == "optuna":
        return optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=cfg.n_startup_trials)
    return optuna.samplers.RandomSampler(seed=cfg.seed)
