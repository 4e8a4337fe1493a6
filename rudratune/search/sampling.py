"""The Optuna sampler a sweep's ``search.searcher`` names, shared by the search and its dry run."""

from __future__ import annotations

import warnings
from typing import Any

from rudratune.search.settings import SweepSettings


def make_sampler(settings: SweepSettings) -> Any:
    """The Optuna sampler the sweep's settings describe, built from exactly the recorded arguments."""
    import optuna  # local: `rudratune run` validates the space before paying for optuna's import

    args = settings.search.searcher.sampler_args(settings.search.num_samples)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cls = getattr(optuna.samplers, args["sampler"])
    with (
        warnings.catch_warnings()
    ):  # multivariate and group are "experimental" in Optuna 5; chosen on purpose
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(**{k: v for k, v in args.items() if k != "sampler"})
