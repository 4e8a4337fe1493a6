"""End of a sweep: results table, checkpoint retention, disk use, MLflow parent. Prints nothing: the command
that ran the sweep says what the summary holds and writes the report."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from rudratune.search.driver.runner import Outcome
from rudratune.search.record import SweepRecord, load_study, mark_finished, sweep_rungs
from rudratune.search.results import (
    TrialEnding,
    TrialRow,
    pareto_front,
    rank_histories,
    ranked,
    rung_warning,
    trial_rows,
    write_results,
)
from rudratune.tracking.disk import sweep_tracker_bytes


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
    rows: list[TrialRow]
    best: list[TrialRow]
    """The rows that reported a result, best first."""
    results: Path | None = None
    disk_bytes: int = 0
    front: list[TrialRow] = field(default_factory=list)
    """A multi-objective sweep's Pareto front (feasible, non-dominated trials)."""
    warnings: tuple[str, ...] = ()
    """Said by the command as ``rudratune: warning: …`` lines (e.g. the best model could not be logged)."""

    @property
    def first_error(self) -> TrialRow | None:
        return next((r for r in self.rows if r.failed), None)


def finish(record: SweepRecord, outcome: Outcome) -> SweepSummary:
    """The sweep's results, written; its MLflow parent run ended. A Ctrl-C or SIGTERM meanwhile ends the parent
    KILLED and is raised on (the command says how to resume: Tune's state is saved, its trials ended)."""
    with outcome.tracker.closed_on_interrupt():
        return _finish(record, outcome)


def _finish(record: SweepRecord, outcome: Outcome) -> SweepSummary:
    settings = record.sweep.settings
    grid, tracker = outcome.grid, outcome.tracker
    ended = 0 if grid is None else grid.num_terminated + grid.num_errors
    stopped_on_error = outcome.fail_fast and grid is not None and grid.num_errors > 0
    if (
        grid is None
        or outcome.interrupted
        or (ended < settings.search.num_samples and not outcome.out_of_time and not stopped_on_error)
    ):
        # Tune catches the first Ctrl-C itself, saves its state and returns: unfinished trials tell.
        tracker.finish_parent(None, status="KILLED")
        return SweepSummary(Ending.INTERRUPTED, ended, [], [])
    rows = trial_rows(grid, record)
    if outcome.out_of_time:
        rows = relabel_budget_stops(rows, record)
        close_unended(record, "PRUNED")
    order = record.sweep.order
    if stopped_on_error:
        results = write_results(rows, record.run_dir, order)
        tracker.finish_parent(None, status="FAILED")
        return SweepSummary(Ending.FAILED_FAST, ended, rows, [], results)
    if not outcome.out_of_time:
        close_unended(record, "FAIL")  # a trial Tune lost (its last save cut short by a full disk)
    best_rows = ranked(rows, settings.metric, settings.direction)
    rows = prune_checkpoints(
        rows, best_rows, keep=settings.checkpoints.keep_top_trials, max_epochs=record.sweep.max_epochs
    )
    best_rows = ranked(rows, settings.metric, settings.direction)
    results = write_results(rows, record.run_dir, order)
    mark_finished(record)
    warning = tracker.log_best_model(record, best_rows[0]) if best_rows else None
    tracker.finish_parent(best_rows[0] if best_rows else None, status="FINISHED")
    front: list[TrialRow] = []
    if settings.secondary:
        front = pareto_front(rows, settings.objectives, settings.modes)
        tracker.tag_pareto(front)
    scheduler, max_t = settings.search.scheduler, record.sweep.max_epochs
    early = None  # a measured first rung was placed by this same check
    if not scheduler.measured:
        early = rung_warning(rank_histories(grid, settings.rank_metric), scheduler.rungs(max_t), max_t)
    warnings = tuple(w for w in (warning, early) if w)
    return SweepSummary(
        Ending.FINISHED,
        ended,
        rows,
        best_rows,
        results,
        disk_usage(record.run_dir) + sweep_tracker_bytes(tracker),
        front,
        warnings,
    )


def relabel_budget_stops(rows: list[TrialRow], record: SweepRecord) -> list[TrialRow]:
    """Trials the sweep's budget stopped, told apart from ASHA's stops: ASHA stops only at its rungs."""
    rungs = sweep_rungs(record.sweep.settings.search.scheduler, record.sweep.max_epochs, record.run_dir)
    return [
        dataclasses.replace(row, ending=TrialEnding.STOPPED_BY_BUDGET)
        if row.stopped_by_asha and not (row.epochs and row.epochs in rungs)
        else row
        for row in rows
    ]


def close_unended(record: SweepRecord, state: str) -> int:
    """Optuna trials still RUNNING when the sweep ends never reach the searcher's ``on_trial_complete``: told
    ``state`` here, so the stored study has no trial left RUNNING. ``PRUNED``: trials the sweep's budget cut
    short; ``FAIL``: in a finished sweep, trials whose Tune trial was lost. Returns how many."""
    import optuna  # local: only a finished sweep gets here

    try:
        study = load_study(record.run_dir, record.name)
        running = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.RUNNING])
        for trial in running:
            study.tell(trial.number, state=optuna.trial.TrialState[state])
    except (KeyError, ValueError, RuntimeError, OSError):  # no study (an older sweep's), or a full disk
        return 0
    return len(running)


def prune_checkpoints(
    rows: list[TrialRow], best: list[TrialRow], *, keep: int, max_epochs: int
) -> list[TrialRow]:
    """Keep each trial's best checkpoint only; trials stopped early lose theirs unless among the top ``keep``.
    Returns the rows, those that lost their checkpoint without it."""
    kept = {r.trial_id for r in best[:keep]}
    out = []
    for row in rows:
        ckpt = row.checkpoint
        if not ckpt or not Path(ckpt).is_dir():
            out.append(row)
            continue
        keep_best = row.trial_id in kept or row.failed or row.epochs >= max_epochs
        for path in Path(ckpt).parent.glob("checkpoint_*"):
            if not (keep_best and path == Path(ckpt)):
                shutil.rmtree(path, ignore_errors=True)
        out.append(row if keep_best else dataclasses.replace(row, checkpoint=""))
    return out


def disk_usage(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
