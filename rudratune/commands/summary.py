"""What ``rudratune run`` and ``rudratune resume`` say when a sweep ends, the report they write, their exit code."""

from __future__ import annotations

import math
import sys
from typing import Any

from rudratune.report.page import write_report
from rudratune.search import Ending, SweepRecord, SweepSummary, TrialRow, decision_line
from rudratune.signals import interrupted_code


def conclude(record: SweepRecord, summary: SweepSummary, *, report: bool) -> int:
    """Print the summary, write the report (unless ``report`` is False) and return the exit code."""
    planned = record.sweep.settings.search.num_samples
    if summary.ending is Ending.INTERRUPTED:
        print(
            f"sweep interrupted after {summary.ended} of {planned} trials; "
            f"continue with: rudratune resume {record.run_dir}",
            file=sys.stderr,
        )
        return interrupted_code()
    rows, best_rows = summary.rows, summary.best
    if summary.ending is Ending.FAILED_FAST:
        failed = summary.first_error
        said = f"{failed.trial_id}: {failed.error}" if failed is not None else "none recorded"
        print(f"--fail-fast: stopped at the first trial error ({said})", file=sys.stderr)
        return 1
    errored = sum(r.failed for r in rows)
    stopped = sum(r.stopped_by_asha for r in rows)
    print(
        f"\n{len(rows)} trials: {len(rows) - errored} ran, {stopped} stopped early by ASHA, {errored} errored"
    )
    settings = record.sweep.settings
    if line := decision_line(settings.search.scheduler, record.run_dir, record.sweep.max_epochs):
        print(line)
    print_top(best_rows[:5], record)
    if best_rows:
        best = best_rows[0]
        print(
            f"best trial {best.trial_id}: val_loss {best.best.get('val_loss', math.nan):.4f}, "
            f"best val Dice {best.best.get('val_dice', math.nan):.4f} (epoch {best.best_epoch})"
        )
    if record.sweep.settings.secondary:
        print_front(summary.front, record.sweep.settings.objectives)
    for warning in summary.warnings:
        print(f"rudratune: warning: {warning}", file=sys.stderr)
    print(f"results: {summary.results}")
    print(f"disk used by the sweep: {_human(summary.disk_bytes)}")
    if report and best_rows:
        try:
            print(f"report: {write_report(record)}")
        except Exception as err:  # the sweep's results are saved; a report failure must not hide them
            print(
                f"rudratune: warning: no report ({type(err).__name__}: {err}); "
                f"retry with: rudratune report {record.run_dir}",
                file=sys.stderr,
            )
    if len(rows) < planned:
        print(f"{len(rows)} of {planned} trials ran within the budget (time or trial-epochs)")
    return 0 if best_rows else 1


def print_front(front: list[TrialRow], objectives: list[str]) -> None:
    points = [f"{r.trial_id} ({', '.join(_g(r.value(k)) for k in objectives)})" for r in front]
    print(f"Pareto front ({', '.join(objectives)}), {len(front)} trial(s): {'; '.join(points) or 'none'}")


def print_top(rows: list[TrialRow], record: SweepRecord) -> None:
    if not rows:
        print("no trial reported a result")
        return
    keys = list(record.sweep.order)
    header = ["trial", "best val_loss", "best val_dice", "best epoch", "reason", *keys]
    table = [header] + [
        [
            r.trial_id,
            f"{r.best.get('val_loss', math.nan):.4f}",
            f"{r.best.get('val_dice', math.nan):.4f}",
            str(r.best_epoch),
            r.reason,
        ]
        + [_short(r.params.get(k, "")) for k in keys]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print(f"top {len(rows)}:")
    for row in table:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _g(value: float | None) -> str:
    return f"{value:.4g}" if value is not None else "nan"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).removeprefix("smp.")
