"""End of a sweep: results table, checkpoint retention, disk use, MLflow parent. Prints nothing: the command
that ran the sweep says what the summary holds and writes the report."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from rudratune.search.objectives import pareto_front
from rudratune.search.record import SweepRecord, mark_finished
from rudratune.search.results import ranked, trial_rows, write_results
from rudratune.search.rungs import rung_warning, sweep_rungs
from rudratune.search.runner import Outcome
from rudratune.search.tracking import finish_parent, log_best_model
from rudratune.tracking.common import TrialEnding, stop_reason_text


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
    front: list[dict[str, Any]] = field(default_factory=list)
    """A multi-objective sweep's Pareto front (feasible, non-dominated trials)."""
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
    if outcome.out_of_time:
        relabel_budget_stops(rows, record)
    if stopped_on_error:
        results = write_results(rows, record)
        finish_parent(outcome.tracker, None, settings.metric, status="FAILED")
        return SweepSummary(Ending.FAILED_FAST, ended, rows, [], results)
    best_rows = ranked(rows, settings.metric, settings.direction)
    prune_checkpoints(
        rows, best_rows, keep=settings.checkpoints.keep_top_trials, max_epochs=record.sweep.max_epochs
    )
    results = write_results(rows, record)
    mark_finished(record)
    warning = log_best_model(outcome.tracker, record, best_rows[0]) if best_rows else None
    finish_parent(outcome.tracker, best_rows[0] if best_rows else None, settings.metric, status="FINISHED")
    front = pareto(rows, settings, outcome.tracker) if settings.secondary else []
    scheduler, max_t = settings.search.scheduler, record.sweep.max_epochs
    early = None  # a measured first rung was placed by this same check
    if not scheduler.measured:
        early = rung_warning(rank_histories(grid, settings.rank_metric), scheduler.rungs(max_t), max_t)
    warnings = tuple(w for w in (warning, early) if w)
    return SweepSummary(
        Ending.FINISHED, ended, rows, best_rows, results, disk_usage(record.run_dir), front, warnings
    )


def rank_histories(grid: Any, key: str) -> list[list[float]]:
    """Each trial's ranking value (``rank_val_dice``), epoch by epoch."""
    histories = []
    for result in grid:
        frame = result.metrics_dataframe
        if frame is not None and key in frame:
            histories.append([float(v) for v in frame[key].tolist() if v == v])  # v == v: not NaN
    return histories


def pareto(rows: list[dict[str, Any]], settings: Any, tracker: Any) -> list[dict[str, Any]]:
    """The Pareto front of a multi-objective sweep, tagged on the MLflow parent run."""
    front = pareto_front(rows, settings.objectives, settings.modes)
    if tracker.client is not None and tracker.parent_run_id is not None:
        ids = ",".join(r["trial_id"] for r in front)
        tracker.client.set_tag(tracker.parent_run_id, "rudratune.pareto_front", ids)
        tracker.client.log_metric(tracker.parent_run_id, "pareto_front_size", len(front))
    return front


def relabel_budget_stops(rows: list[dict[str, Any]], record: SweepRecord) -> None:
    """Trials the sweep's budget stopped, told apart from ASHA's stops: ASHA stops only at its rungs."""
    rungs = sweep_rungs(record.sweep.settings.search.scheduler, record.sweep.max_epochs, record.run_dir)
    for row in rows:
        if row["ending"] != TrialEnding.STOPPED_BY_ASHA or (row["epochs"] and row["epochs"] in rungs):
            continue
        row["ending"] = TrialEnding.STOPPED_BY_BUDGET
        row["reason"] = stop_reason_text(TrialEnding.STOPPED_BY_BUDGET, row["epochs"])


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
