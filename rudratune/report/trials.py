"""What a sweep folder holds about one trial: its folder, its per-epoch history, its parameters."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rudratune.search.record import SweepRecord

CURVE_KEYS = ("epoch", "val_loss", "val_dice")


def trial_dir(record: SweepRecord, row: dict[str, Any]) -> Path | None:
    """The trial's folder: the results' ``trial_dir``, else found by trial id (older sweeps, moved folders)."""
    given = row.get("trial_dir")
    if given and Path(given).is_dir():
        return Path(given)
    found = sorted(p for p in record.run_dir.glob(f"*_{row['trial_id']}_*") if p.is_dir())
    return found[0] if found else None


def trial_history(path: Path | None) -> list[dict[str, float]]:
    """Per-epoch val_loss and val_dice from Ray's ``progress.csv`` (or ``result.json``), one row per epoch."""
    if path is None:
        return []
    if (path / "progress.csv").is_file() and (path / "progress.csv").stat().st_size:
        with (path / "progress.csv").open() as f:
            raw = list(csv.DictReader(f))
    elif (path / "result.json").is_file():
        raw = [json.loads(line) for line in (path / "result.json").read_text().splitlines() if line.strip()]
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


def trial_params(record: SweepRecord, row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in record.sweep.order if row.get(k) not in (None, "")}
