"""What a sweep folder holds about each trial as it runs: its folder, its per-epoch history (Ray's
``progress.csv`` or ``result.json``), and rows for the trials of a sweep that has not finished."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from rudratune.search.record import SweepRecord, TrialEnding
from rudratune.search.results.row import TrialRow

CURVE_KEYS = ("epoch", "val_loss", "val_dice")


def trial_dir(run_dir: Path, row: TrialRow) -> Path | None:
    """The trial's folder: the row's ``trial_dir``, else found by trial id (older sweeps, moved folders)."""
    if row.trial_dir and Path(row.trial_dir).is_dir():
        return Path(row.trial_dir)
    found = sorted(p for p in Path(run_dir).glob(f"*_{row.trial_id}_*") if p.is_dir())
    return found[0] if found else None


def trial_history(path: Path | None) -> list[dict[str, float]]:
    """Per-epoch val_loss and val_dice from Ray's ``progress.csv`` (or ``result.json``), one row per epoch."""
    if path is None:
        return []
    if (path / "progress.csv").is_file() and (path / "progress.csv").stat().st_size:
        with (path / "progress.csv").open() as f:
            raw = list(csv.DictReader(f))
    elif (path / "result.json").is_file():
        raw = []
        for line in (path / "result.json").read_text().splitlines():
            try:
                raw.append(json.loads(line)) if line.strip() else None
            except ValueError:  # a line Ray is still writing
                continue
    else:
        return []
    by_epoch = {}  # a resumed trial may repeat epochs after its last checkpoint: the later row wins
    for row in raw:
        values = {k: _number(row.get(k)) for k in CURVE_KEYS}
        if not math.isnan(values["epoch"]):
            by_epoch[int(values["epoch"])] = values
    return [by_epoch[e] for e in sorted(by_epoch)]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def live_rows(record: SweepRecord) -> list[TrialRow]:
    """One row per trial that has reported so far, under its trial id, from the folders Ray writes as it goes
    (a running or interrupted sweep has no results.json yet). A folder with no report yet has no id to show
    (its folder name is Ray's, some 150 characters long) and is left out."""
    rows = []
    settings = record.sweep.settings
    for folder in sorted(p for p in record.run_dir.iterdir() if (p / "params.json").is_file()):
        trial_id = reported_trial_id(folder)
        if trial_id is None:
            continue
        try:
            config = json.loads((folder / "params.json").read_text())
        except (OSError, ValueError):
            continue
        history = trial_history(folder)
        finite = [h for h in history if not math.isnan(h["val_loss"])]
        best: dict[str, float] = {}
        best_epoch = None
        if finite:
            pick = min if settings.direction == "min" else max
            top = pick(finite, key=lambda h: h.get(settings.metric, math.nan))
            best_epoch = int(top["epoch"])
            best = {
                "val_loss": min(h["val_loss"] for h in finite),
                "val_dice": max(h["val_dice"] for h in finite),
            }
        rows.append(
            TrialRow(
                trial_id=trial_id,
                ending=TrialEnding.UNFINISHED,
                epochs=int(history[-1]["epoch"]) if history else 0,
                best_epoch=best_epoch,
                best=best,
                params={k: config[k] for k in record.sweep.order if config.get(k) not in (None, "")},
                trial_dir=str(folder),
            )
        )
    return rows


def reported_trial_id(folder: Path) -> str | None:
    """The id Ray reports in every result (folder names hold the trainable's name and the config too); None
    before the trial's first report."""
    for name in ("result.json", "progress.csv"):
        path = folder / name
        lines = [line for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
        if name == "result.json" and lines:
            for line in reversed(lines[-2:]):  # the last line may be one Ray is still writing
                try:
                    if found := json.loads(line).get("trial_id"):
                        return str(found)
                except ValueError:
                    continue
        if name == "progress.csv" and len(lines) > 1:
            row = next(csv.DictReader(lines))
            if row.get("trial_id"):
                return str(row["trial_id"])
    return None
