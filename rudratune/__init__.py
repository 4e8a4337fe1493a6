"""rudratune: hyperparameter search for image segmentation (Ray Tune + Optuna + ASHA, Lightning, MLflow, W&B).

The public API, loaded on first use so that ``import rudratune`` (and the CLI's ``--help``) stays fast::

    import rudratune
    run_dir = rudratune.run_sweep("search_spaces/quickstart.yaml", ["search.num_samples=4"])
    rudratune.sweep_results(run_dir)[0]
    rudratune.train_experiment(run_dir / "best.yaml")      # after `rudratune export`
    rudratune.predict(run_dir, "my_images/", "masks_out")  # masks + measurements.csv of new images
    cfg = rudratune.load_experiment("experiments/rudraksha.yaml", ["trainer.max_epochs=5"])
    rudratune.list_models()
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

try:
    __version__ = metadata.version("rudratune")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "run_sweep": "rudratune.api",
    "sweep_results": "rudratune.api",
    "train_experiment": "rudratune.api",
    "predict": "rudratune.api",
    "load_experiment": "rudratune.config.experiment",
    "load_sweep": "rudratune.search.space",
    "TrialRow": "rudratune.search.results",
    "TrialEnding": "rudratune.search.results",
    "train": "rudratune.train.loop",
    "list_models": "rudratune.registry.models",
    "list_losses": "rudratune.registry.losses",
    "UserError": "rudratune.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rudratune' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
