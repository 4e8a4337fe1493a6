"""The results table (one row per trial) and the best trial, from Ray's ResultGrid."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from rudratune.search.objectives import first_violation
from rudratune.search.record import RESULTS, RESULTS_JSON, SweepRecord
from rudratune.tracking.common import TrialEnding, stop_reason, trial_ending
from rudratune.train.cost import COST_KEYS
from rudratune.train.metrics import METRICS, running_best_key

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
"""``best_<metric>``: the best value over the trial's epochs (the running best at its last epoch), for
every metric of ``METRICS``; ``best_epoch``: the epoch with the best value of the sweep's metric;
``params_m``, ``latency_ms``, ``peak_mem_mb``: the model's cost, measured once before training;
``feasible``: every constraint held (``violation``: the first that did not)."""


def trial_rows(grid: Any, record: SweepRecord, reasons: dict[str, str]) -> list[dict[str, Any]]:
    settings = record.sweep.settings
    rows = []
    for result in grid:
        history = result.metrics_dataframe
        last = result.metrics or {}
        rows_ = [] if history is None or last.get("refused") else history.to_dict("records")
        trial_id = last.get("trial_id") or Path(result.path).name.split("_")[-1]
        failed = result.error is not None
        row: dict[str, Any] = {
            "trial_id": trial_id,
            "status": "ERROR" if failed else "TERMINATED",
            "reason": reasons.get(trial_id) or stop_reason(failed, last, record.sweep.max_epochs),
            "ending": trial_ending(failed, last, record.sweep.max_epochs),
            "epochs": int(last.get("epoch", 0)),
            "error": _error_text(result.error) if failed else "",
            "checkpoint": "",
            "trial_dir": str(result.path),
            "torch_threads": last.get("torch_threads"),
            **{key: last[key] for key in COST_KEYS if last.get(key) is not None},
        }
        if rows_:
            pick = min if settings.direction == "min" else max
            best = pick(rows_, key=lambda r: r.get(settings.metric, math.nan))
            row["best_epoch"] = int(best["epoch"])
            for name, info in METRICS.items():
                values = [r[name] for r in rows_ if _number(r.get(name))]
                if values:
                    row[running_best_key(name)] = (min if info.direction == "min" else max)(values)
                    row[f"last_{name}"] = rows_[-1].get(name)
        best_ckpt = _best_checkpoint(result, settings.metric, settings.direction)
        if best_ckpt:
            row["checkpoint"] = best_ckpt
        broken = first_violation(settings.constraint_list, row)
        row.update(feasible=broken is None, violation=broken or "")
        config = result.config or {}
        row.update({key: config.get(key, "") for key in record.sweep.order})
        rows.append(row)
    return rows


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value)


def _best_checkpoint(result: Any, metric: str, mode: str) -> str:
    try:
        checkpoint = result.get_best_checkpoint(metric, mode)
    except (RuntimeError, ValueError, KeyError):
        checkpoint = None
    return checkpoint.path if checkpoint is not None else ""


def _error_text(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[-1] if text else type(error).__name__)[:300]


def write_results(rows: list[dict[str, Any]], record: SweepRecord) -> Path:
    """Write ``results.csv`` for people and ``results.json`` (typed values) for export and report."""
    (record.run_dir / RESULTS_JSON).write_text(json.dumps(rows, indent=1, default=str))
    columns = list(FIXED) + [c for c in record.sweep.order if c not in FIXED]
    path = record.run_dir / RESULTS
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_results(record: SweepRecord) -> list[dict[str, Any]]:
    path = record.run_dir / RESULTS_JSON
    return json.loads(path.read_text()) if path.exists() else []


def ranked(rows: list[dict[str, Any]], metric: str, mode: str) -> list[dict[str, Any]]:
    """Trials with a score, best first; feasible trials (every constraint held) before the others. Trials
    tied on a thresholded score (val Dice 0.0, or 1.0) are ordered by the reference loss, as ASHA and the
    searcher order them (``rudratune.train.metrics.ranking_value``)."""
    key = running_best_key(metric)
    scored = [r for r in rows if r.get(key) not in (None, "")]
    sign = -1 if mode == "max" else 1
    info = METRICS.get(metric)
    ties = running_best_key("val_ref_loss") if info is not None and info.ties else None

    def tie_break(row: dict[str, Any]) -> float:
        value = row.get(ties) if ties else None
        return float(value) if value not in (None, "") else math.inf

    return sorted(scored, key=lambda r: (r.get("feasible") is False, sign * float(r[key]), tie_break(r)))


def stopped_by_asha(row: dict[str, Any]) -> bool:
    return row.get("ending") == TrialEnding.STOPPED_BY_ASHA
