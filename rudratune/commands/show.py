"""``rudratune show RUN_DIR [--json]``: the trials and best trial of a finished or running sweep.

A finished sweep is read from its ``results.json``; a running (or interrupted) one from the trial folders
Ray writes as it goes (``params.json`` and ``progress.csv`` or ``result.json``), so it works mid-sweep.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from rudratune.search import SweepRecord, TrialRow, live_rows, load_record, ranked, read_results

COLUMNS = ("trial_id", "status", "reason", "epochs", "best_epoch", "best_val_loss", "best_val_dice")


def run(args: argparse.Namespace) -> int:
    record = load_record(args.run_dir)
    summary = summarize(record)
    if args.json:
        print(json.dumps(_strict(summary), indent=2, default=str, allow_nan=False))
    else:
        print_summary(summary)
    return 0


def _strict(value: Any) -> Any:
    """NaN and infinities as null: strict JSON readers (jq, JSON.parse) refuse Python's NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def summarize(record: SweepRecord) -> dict[str, Any]:
    """What ``show`` prints: the sweep's facts, its trials best first, and the best trial."""
    settings = record.sweep.settings
    rows = read_results(record.run_dir, record.sweep.order)
    finished = bool(rows)
    if not finished:
        rows = live_rows(record)
    scored = ranked(rows, settings.metric, settings.direction)
    unscored = [r for r in rows if r not in scored]
    keys = list(record.sweep.order)
    trials = [view(r) for r in [*scored, *unscored]]
    best = None
    if scored:
        best = {"trial_id": scored[0].trial_id, "value": scored[0].best[settings.metric], **trials[0]}
    return {
        "sweep": record.name,
        "run_dir": str(record.run_dir.resolve()),
        "state": "finished" if finished else "running or interrupted",
        "metric": settings.metric,
        "direction": settings.direction,
        "num_samples": settings.search.num_samples,
        "params": keys,
        "best": best,
        "trials": trials,
    }


def view(row: TrialRow) -> dict[str, Any]:
    """A trial as ``show`` prints it (and ``--json`` writes it)."""
    return {
        "trial_id": row.trial_id,
        "status": row.status,
        "reason": row.reason,
        "epochs": row.epochs,
        "best_epoch": row.best_epoch,
        "best_val_loss": row.best.get("val_loss"),
        "best_val_dice": row.best.get("val_dice"),
        "params": dict(row.params),
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    return "" if value is None else str(value)


def print_summary(summary: dict[str, Any]) -> None:
    print(
        f"sweep {summary['sweep']} ({summary['state']}): {len(summary['trials'])} of "
        f"{summary['num_samples']} trials, metric {summary['metric']} ({summary['direction']})"
    )
    header = [*COLUMNS, *summary["params"]]
    table = [header] + [
        [_cell(t.get(k)) for k in COLUMNS] + [_cell(t["params"].get(k)) for k in summary["params"]]
        for t in summary["trials"]
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    best = summary["best"]
    if best is None:
        print("no trial has reported a result yet")
        return
    params = " ".join(f"{k}={_cell(v)}" for k, v in best["params"].items())
    print(
        f"best trial {best['trial_id']}: {summary['metric']} {_cell(best['value'])} "
        f"(epoch {best['best_epoch']}) {params}"
    )
