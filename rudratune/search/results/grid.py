"""Ray's ResultGrid → one ``TrialRow`` per trial, and each trial's ranking value epoch by epoch."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rudratune.search.record import SweepRecord, trial_ending
from rudratune.search.results.row import TrialRow
from rudratune.search.space import first_violation
from rudratune.train.cost import COST_KEYS
from rudratune.train.metrics import METRICS


def trial_rows(grid: Any, record: SweepRecord) -> list[TrialRow]:
    """Every trial of the grid (``ray.tune.ResultGrid``) as a row, in the grid's order."""
    return [trial_row(result, record) for result in grid]


def trial_row(result: Any, record: SweepRecord) -> TrialRow:
    sweep, settings = record.sweep, record.sweep.settings
    history = result.metrics_dataframe
    last = result.metrics or {}
    epochs_rows = [] if history is None or last.get("refused") else history.to_dict("records")
    trial_id = last.get("trial_id") or Path(result.path).name.split("_")[-1]
    failed = result.error is not None
    config = result.config or {}
    params = {k: config[k] for k in sweep.order if config.get(k) not in (None, "")}
    own_epochs = int(params.get("trainer.max_epochs", sweep.base.trainer.max_epochs))
    best: dict[str, float] = {}
    last_values: dict[str, float] = {}
    best_epoch = None
    if epochs_rows:
        pick = min if settings.direction == "min" else max
        top = pick(epochs_rows, key=lambda r: r.get(settings.metric, math.nan))
        best_epoch = int(top["epoch"])
        for name, info in METRICS.items():
            values = [r[name] for r in epochs_rows if _number(r.get(name))]
            if values:
                best[name] = (min if info.direction == "min" else max)(values)
                if _number(epochs_rows[-1].get(name)):
                    last_values[name] = float(epochs_rows[-1][name])
    cost = {key: float(last[key]) for key in COST_KEYS if _number(last.get(key))}
    broken = first_violation(settings.constraint_list, {**{f"best_{k}": v for k, v in best.items()}, **cost})
    threads = last.get("torch_threads")
    return TrialRow(
        trial_id=trial_id,
        ending=trial_ending(failed, last, own_epochs, scheduled=settings.search.scheduler.name != "fifo"),
        epochs=int(last.get("epoch") or 0),
        best_epoch=best_epoch,
        best=best,
        last=last_values,
        cost=cost,
        params=params,
        feasible=broken is None,
        violation=broken or "",
        checkpoint=_best_checkpoint(result, settings.metric, settings.direction),
        trial_dir=str(result.path),
        error=_error_text(result.error) if failed else "",
        torch_threads=int(threads) if isinstance(threads, int | float) and _number(threads) else None,
    )


def rank_histories(grid: Any, key: str) -> list[list[float]]:
    """Each trial's ranking value (``rank_val_dice``), epoch by epoch."""
    histories = []
    for result in grid:
        frame = result.metrics_dataframe
        if frame is not None and key in frame:
            histories.append([float(v) for v in frame[key].tolist() if v == v])  # v == v: not NaN
    return histories


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _best_checkpoint(result: Any, metric: str, mode: str) -> str:
    try:
        checkpoint = result.get_best_checkpoint(metric, mode)
    except (RuntimeError, ValueError, KeyError):
        checkpoint = None
    return checkpoint.path if checkpoint is not None else ""


def _error_text(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[-1] if text else type(error).__name__)[:300]
