"""End of a sweep: results table, top-5, checkpoint retention, disk use, MLflow parent, report."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from rudratune.search.record import SweepRecord
from rudratune.search.results import ranked, trial_rows, write_results
from rudratune.search.runner import Outcome
from rudratune.tracking.best_model import log_best_model
from rudratune.tracking.parent import finish_parent


def finish(record: SweepRecord, outcome: Outcome, *, report: bool) -> int:
    settings = record.sweep.settings
    grid = outcome.grid
    ended = 0 if grid is None else grid.num_terminated + grid.num_errors
    stopped_on_error = outcome.fail_fast and grid is not None and grid.num_errors > 0
    if grid is None or (
        ended < settings.search.num_samples and not outcome.out_of_time and not stopped_on_error
    ):
        # Tune catches the first Ctrl-C itself, saves its state and returns: unfinished trials tell.
        finish_parent(outcome.tracker, None, settings.metric, status="KILLED")
        print(f"sweep interrupted after {ended} of {settings.search.num_samples} trials; "
              f"continue with: rudratune resume {record.run_dir}", file=sys.stderr)  # fmt: skip
        return 130
    rows = trial_rows(grid, record, outcome.tracker.reasons)
    if stopped_on_error:
        write_results(rows, record)
        finish_parent(outcome.tracker, None, settings.metric, status="FAILED")
        failed = next(r for r in rows if r["status"] == "ERROR")
        print(
            f"--fail-fast: stopped at the first trial error ({failed['trial_id']}: {failed['error']})",
            file=sys.stderr,
        )
        return 1
    best_rows = ranked(rows, settings.metric, settings.direction)
    prune_checkpoints(
        rows, best_rows, keep=settings.checkpoints.keep_top_trials, max_epochs=record.sweep.max_epochs
    )
    results = write_results(rows, record)
    if best_rows:
        log_best_model(outcome.tracker, record, best_rows[0])
    finish_parent(outcome.tracker, best_rows[0] if best_rows else None, settings.metric, status="FINISHED")

    errored = sum(r["status"] == "ERROR" for r in rows)
    stopped = sum("ASHA" in r["reason"] for r in rows)
    print(
        f"\n{len(rows)} trials: {len(rows) - errored} ran, {stopped} stopped early by ASHA, {errored} errored"
    )
    print_top(best_rows[:5], record)
    if best_rows:
        best = best_rows[0]
        print(f"best trial {best['trial_id']}: val_loss {best.get('best_val_loss', float('nan')):.4f}, "
              f"best val Dice {best.get('best_val_dice', float('nan')):.4f} (epoch {best.get('best_epoch')})")  # fmt: skip
    print(f"results: {results}")
    print(f"disk used by the sweep: {_human(disk_usage(record.run_dir))}")
    if report and best_rows:
        from rudratune.report.page import write_report

        try:
            print(f"report: {write_report(record)}")
        except Exception as err:  # the sweep's results are saved; a report failure must not hide them
            print(f"rudratune: warning: no report ({type(err).__name__}: {err}); "
                  f"retry with: rudratune report {record.run_dir}", file=sys.stderr)  # fmt: skip
    if len(rows) < settings.search.num_samples:
        print(f"{len(rows)} of {settings.search.num_samples} trials ran within the time budget")
    return 0 if best_rows else 1


def print_top(rows: list[dict[str, Any]], record: SweepRecord) -> None:
    if not rows:
        print("no trial reported a result")
        return
    keys = list(record.sweep.order)
    header = ["trial", "val_loss", "val_dice", "epoch", "reason"] + [k.split(".")[-1] for k in keys]
    table = [header] + [
        [
            r["trial_id"],
            f"{r['best_val_loss']:.4f}",
            f"{r['best_val_dice']:.4f}",
            str(r["best_epoch"]),
            r["reason"],
        ]
        + [_short(r.get(k, "")) for k in keys]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print(f"top {len(rows)}:")
    for row in table:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


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


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).removeprefix("smp.")
