"""A sweep's driver: decode the data once, run (or resume) the Tuner with its trackers and live table, and
conclude it (results, retention, the best model); the trial function every worker runs; the dry run."""

from rudratune.search.driver.datasets import (
    DATA_RECORD,
    check_data,
    data_configs,
    load_sweep_data,
    record_data,
)
from rudratune.search.driver.dry_run import DryRun, Suggestion, describe, draw, dry_run
from rudratune.search.driver.finish import (
    Ending,
    SweepSummary,
    disk_usage,
    finish,
    prune_checkpoints,
    relabel_budget_stops,
)
from rudratune.search.driver.runner import (
    Datasets,
    Outcome,
    build_trainable,
    build_tuner,
    epochs_used,
    execute,
)
from rudratune.search.driver.tracker import SweepTracker

__all__ = [
    "DATA_RECORD",
    "check_data",
    "record_data",
    "Datasets",
    "DryRun",
    "Ending",
    "Outcome",
    "Suggestion",
    "SweepSummary",
    "SweepTracker",
    "build_trainable",
    "build_tuner",
    "data_configs",
    "describe",
    "disk_usage",
    "draw",
    "dry_run",
    "epochs_used",
    "execute",
    "finish",
    "load_sweep_data",
    "prune_checkpoints",
    "relabel_budget_stops",
]
