"""``rudratune show RUN_DIR [--json]``: the trials and best trial of a finished or running sweep.

A finished sweep is read from its ``results.json``; a running (or interrupted) one from the trial folders
Ray writes as it goes (``params.json`` and ``progress.csv`` or ``result.json``), so it works mid-sweep.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

from rudratune.search.record import SweepRecord, load_record
from rudratune.search.results import ranked, read_results

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
    rows = read_results(record)
    finished = bool(rows)
    if not finished:
        rows = live_rows(record)
    scored = ranked(rows, settings.metric, settings.direction)
    unscored = [r for r in rows if r not in scored]
    keys = list(record.sweep.order)
    trials = [
        {**{k: r.get(k) for k in COLUMNS}, "params": {k: r[k] for k in keys if r.get(k) not in (None, "")}}
        for r in [*scored, *unscored]
    ]
    best = None
    if scored:
        top = trials[0]
        best = {"trial_id": top["trial_id"], "value": scored[0][f"best_{settings.metric}"], **top}
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


def live_rows(record: SweepRecord) -> list[dict[str, Any]]:
    """One row per trial that has reported so far (results.json does not exist yet), under its trial id; a
    trial folder with no report yet has no id to show (its folder name is Ray's, 150 characters long)."""
    from rudratune.report.trials import trial_history

    rows = []
    for folder in sorted(p for p in record.run_dir.iterdir() if (p / "params.json").is_file()):
        reported = trial_id(folder)
        if reported is None:
            continue
        try:
            config = json.loads((folder / "params.json").read_text())
        except (OSError, ValueError):
            continue
        history = [h for h in trial_history(folder) if not math.isnan(h["val_loss"])]
        row: dict[str, Any] = {
            "trial_id": reported,
            "status": "",
            "reason": "sweep not finished",
            "epochs": int(history[-1]["epoch"]) if history else 0,
        }
        if history:
            metric = record.sweep.settings.metric
            pick = min if record.sweep.settings.direction == "min" else max
            best = pick(history, key=lambda h: h.get(metric, math.nan))
            row.update(
                best_epoch=int(best["epoch"]),
                best_val_loss=min(h["val_loss"] for h in history),
                best_val_dice=max(h["val_dice"] for h in history),
            )
            row[f"best_{metric}"] = best.get(metric)
        row.update({k: config.get(k, "") for k in record.sweep.order})
        rows.append(row)
    return rows


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


def trial_id(folder: Path) -> str | None:
    """The id Ray reports in every result (folder names hold the trainable's name and the config too); None
    before the trial's first report."""
    for name in ("result.json", "progress.csv"):
        path = folder / name
        lines = [line for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
        if name == "result.json" and lines:
            try:
                found = json.loads(lines[-1]).get("trial_id")
            except ValueError:  # a line Ray is still writing
                found = json.loads(lines[-2]).get("trial_id") if len(lines) > 1 else None
            if found:
                return str(found)
        if name == "progress.csv" and len(lines) > 1:
            row = next(csv.DictReader(lines))
            if row.get("trial_id"):
                return row["trial_id"]
    return None
