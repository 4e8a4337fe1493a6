"""Trials best first, and the Pareto front of a multi-objective sweep."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rudratune.search.results.row import TrialRow
from rudratune.train.metrics import METRICS


def ranked(rows: Sequence[TrialRow], metric: str, mode: str) -> list[TrialRow]:
    """Trials with a score, best first; feasible trials (every constraint held) before the others. Trials
    tied on a thresholded score (val Dice 0.0, or 1.0) are ordered by the reference loss, as ASHA and the
    searcher order them (``rudratune.train.metrics.ranking_value``)."""
    scored = [r for r in rows if r.best.get(metric) is not None]
    sign = -1 if mode == "max" else 1
    info = METRICS.get(metric)
    ties = "val_ref_loss" if info is not None and info.ties else None

    def tie_break(row: TrialRow) -> float:
        value = row.best.get(ties) if ties else None
        return float(value) if value is not None else math.inf

    return sorted(scored, key=lambda r: (not r.feasible, sign * float(r.best[metric]), tie_break(r)))


def pareto_front(rows: Sequence[TrialRow], objectives: Sequence[str], modes: Sequence[str]) -> list[TrialRow]:
    """The feasible rows no other feasible row dominates (at least as good on every objective, better on one).

    A row's objective values are its best trained values and its measured costs; rows missing one, and
    rows marked infeasible, are left out.
    """
    points = []
    for row in rows:
        values = [row.value(key) for key in objectives]
        numbers = [v for v in values if v is not None]
        if row.feasible and len(numbers) == len(values):
            points.append((row, [v if m == "min" else -v for v, m in zip(numbers, modes, strict=True)]))

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b, strict=True)) and any(
            x < y for x, y in zip(a, b, strict=True)
        )

    return [row for row, p in points if not any(dominates(q, p) for _, q in points)]
