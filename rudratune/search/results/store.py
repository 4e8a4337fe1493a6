"""``results.json`` (typed values, for export, show and report) and ``results.csv`` (for people): the one
place where trial rows become dicts and dicts become rows. Files written by earlier versions still load."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rudratune.errors import UserError
from rudratune.search.record import TrialEnding
from rudratune.search.results.row import TrialRow
from rudratune.train.cost import COST_KEYS

RESULTS = "results.csv"
RESULTS_JSON = "results.json"
FIXED = (
    "trial_id",
    "status",
    "reason",
    "epochs",
    "best_epoch",
    "best_val_loss",
    "best_val_dice",
    "best_val_iou",
    "best_val_ref_loss",
    "last_val_loss",
    "last_val_dice",
    "last_val_ref_loss",
    *COST_KEYS,
    "feasible",
    "violation",
    "checkpoint",
    "trial_dir",
    "error",
)
"""The table's first columns; the searched parameters follow in the space's order."""


def row_to_dict(row: TrialRow, order: Sequence[str]) -> dict[str, Any]:
    """The flat layout of results.json: ``best_<metric>``, ``last_<metric>``, costs and every parameter of
    the space ("" where inactive) beside the trial's own fields."""
    out: dict[str, Any] = {
        "trial_id": row.trial_id,
        "status": row.status,
        "reason": row.reason,
        "ending": row.ending.value,
        "epochs": row.epochs,
        "error": row.error,
        "checkpoint": row.checkpoint,
        "trial_dir": row.trial_dir,
        "torch_threads": row.torch_threads,
        **dict(row.cost),
    }
    if row.best_epoch is not None:
        out["best_epoch"] = row.best_epoch
    out.update({f"best_{k}": v for k, v in row.best.items()})
    out.update({f"last_{k}": v for k, v in row.last.items()})
    out.update(feasible=row.feasible, violation=row.violation)
    out.update({key: row.params.get(key, "") for key in order})
    return out


def _ending(raw: dict[str, Any]) -> TrialEnding:
    try:
        return TrialEnding(raw["ending"])
    except (KeyError, ValueError):  # a results.json from before endings were recorded
        return TrialEnding.FAILED if raw.get("status") == "ERROR" else TrialEnding.COMPLETED


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def row_from_dict(raw: dict[str, Any], order: Sequence[str]) -> TrialRow:
    """The inverse of ``row_to_dict``; unknown keys are ignored."""
    numbers = {k: n for k, v in raw.items() if (n := _number(v)) is not None}
    best = {
        k.removeprefix("best_"): n for k, n in numbers.items() if k.startswith("best_") and k != "best_epoch"
    }
    last = {k.removeprefix("last_"): n for k, n in numbers.items() if k.startswith("last_")}
    cost = {k: numbers[k] for k in COST_KEYS if k in numbers}
    best_epoch = _number(raw.get("best_epoch"))
    threads = _number(raw.get("torch_threads"))
    return TrialRow(
        trial_id=str(raw["trial_id"]),
        ending=_ending(raw),
        epochs=int(_number(raw.get("epochs")) or 0),
        best_epoch=int(best_epoch) if best_epoch is not None else None,
        best=best,
        last=last,
        cost=cost,
        params={k: raw[k] for k in order if raw.get(k) not in (None, "")},
        feasible=raw.get("feasible") not in (False, "False", "false"),
        violation=str(raw.get("violation") or ""),
        checkpoint=str(raw.get("checkpoint") or ""),
        trial_dir=str(raw.get("trial_dir") or ""),
        error=str(raw.get("error") or ""),
        torch_threads=int(threads) if threads is not None and not math.isnan(threads) else None,
    )


def write_results(rows: Sequence[TrialRow], run_dir: Path, order: Sequence[str]) -> Path:
    """Write ``results.json`` and ``results.csv`` (each atomically); returns the CSV's path."""
    flat = [row_to_dict(r, order) for r in rows]
    _atomic(run_dir / RESULTS_JSON, json.dumps(flat, indent=1, default=str))
    columns = list(FIXED) + [c for c in order if c not in FIXED]
    path = run_dir / RESULTS
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(flat)
    tmp.replace(path)
    return path


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def read_results(run_dir: Path, order: Sequence[str]) -> list[TrialRow]:
    """The rows of a finished sweep ([] before it finished). A damaged file is a one-line error."""
    path = Path(run_dir) / RESULTS_JSON
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text())
        if not isinstance(raw, list):
            raise TypeError("not a list of trials")
        return [row_from_dict(r, order) for r in raw]
    except (ValueError, TypeError, KeyError, AttributeError, OSError) as err:
        raise UserError(
            f"{path}: damaged results ({type(err).__name__}); rewrite it with `rudratune resume "
            f"{run_dir}` if the sweep can go on, or delete it and resume"
        ) from None
