"""The Optuna sampler a sweep's ``search.searcher`` names, shared by the search and its dry run."""

from __future__ import annotations

import warnings
from typing import Any

from rudratune.search.space import Sweep


def make_sampler(sweep: Sweep) -> Any:
    """The sampler built from exactly the arguments ``sweep.sampler_args()`` records in sweep.json.

    ``optuna``: TPE with multivariate, group and constant_liar set (see ``SearcherSettings.sampler_args``);
    ``random``: a seeded RandomSampler.
    """
    import optuna  # local: `rudratune run` validates the space before paying for optuna's import

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args = sweep.sampler_args()
    cls = getattr(optuna.samplers, args["sampler"])
    # multivariate and group are "experimental" in Optuna 5: chosen on purpose, so their warning is noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(**{k: v for k, v in args.items() if k != "sampler"})
