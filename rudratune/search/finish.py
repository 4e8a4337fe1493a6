"""End of a sweep: results table, checkpoint retention, disk use, MLflow parent. Prints nothing: the command
that ran the sweep says what the summary holds and writes the report."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from rudratune.search.record import SweepRecord
from rudratune.search.results import ranked, trial_rows, write_results
from rudratune.search.runner import Outcome
from rudratune.search.tracking import finish_parent, log_best_model


class Ending(Enum):
    INTERRUPTED = "interrupted"
    """Ctrl-C (Tune saved its state): ``rudratune resume`` continues it."""
    FAILED_FAST = "failed fast"
    """``--fail-fast`` stopped the sweep at the first trial error."""
    FINISHED = "finished"


@dataclass(frozen=True)
class SweepSummary:
    ending: Ending
    ended: int
    """Trials that ended (terminated or errored)."""
    rows: list[dict[str, Any]]
    best: list[dict[str, Any]]
    """The rows that reported a result, best first."""
    results: Path | None = None
    disk_bytes: int = 0
    warnings: tuple[str, ...] = ()
    """Said by the command as ``rudratune: warning: …`` lines (e.g. the best model could not be logged)."""

    @property
    def first_error(self) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["status"] == "ERROR"), None)


def finish(record: SweepRecord, outcome: Outcome) -> SweepSummary:
    settings = record.sweep.settings
    grid = outcome.grid
    ended = 0 if grid is None else grid.num_terminated + grid.num_errors
    stopped_on_error = outcome.fail_fast and grid is not None and grid.num_errors > 0
    if grid is None or (
        ended < settings.search.num_samples and not outcome.out_of_time and not stopped_on_error
    ):
        # Tune catches the first Ctrl-C itself, saves its state and returns: unfinished trials tell.
        finish_parent(outcome.tracker, None, settings.metric, status="KILLED")
        return SweepSummary(Ending.INTERRUPTED, ended, [], [])
    rows = trial_rows(grid, record, outcome.tracker.reasons)
    if stopped_on_error:
        results = write_results(rows, record)
        finish_parent(outcome.tracker, None, settings.metric, status="FAILED")
        return SweepSummary(Ending.FAILED_FAST, ended, rows, [], results)
    best_rows = ranked(rows, settings.metric, settings.direction)
    prune_checkpoints(
        rows, best_rows, keep=settings.checkpoints.keep_top_trials, max_epochs=record.sweep.max_epochs
    )
    results = write_results(rows, record)
    warning = log_best_model(outcome.tracker, record, best_rows[0]) if best_rows else None
    finish_parent(outcome.tracker, best_rows[0] if best_rows else None, settings.metric, status="FINISHED")
    warnings = (warning,) if warning else ()
    return SweepSummary(
        Ending.FINISHED, ended, rows, best_rows, results, disk_usage(record.run_dir), warnings
    )


def prune_checkpoints(
    rows: list[dict[str, Any]], best: list[dict[str, Any]], *, keep: int, max_epochs: int
) -> None:
    """Keep each trial's best checkpoint only; trials stopped early lose theirs unless among the top ``keep``."""
    kept = {r["trial_id"] for r in best[:keep]}
    for row in rows:
        ckpt = row.get("checkpoint")
        if not ckpt or not Path(ckpt).is_dir():
            continue
        keep_best = row["trial_id"] in kept or row["status"] == "ERROR" or row["epochs"] >= max_epochs
        for path in Path(ckpt).parent.glob("checkpoint_*"):
            if not (keep_best and path == Path(ckpt)):
                shutil.rmtree(path, ignore_errors=True)
        if not keep_best:
            row["checkpoint"] = ""


def disk_usage(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
