"""Several objectives at once, constraints on them, and the Pareto front of a finished sweep.

- ``metric: [val_dice, latency_ms]`` with ``mode: [max, min]``: the first metric is the primary one (ASHA
  stops trials on its running best); the searcher optimises all of them jointly.
- ``constraints: {params_m: "<= 10", latency_ms: "<= 5", val_dice: ">= 0.5"}``: cost metrics are measured
  before training, so a trial that breaks one is refused before it trains; trained metrics are checked on
  the trial's best value at its end. Either way the searcher is told how far the trial was off.

The Pareto front of a finished sweep is ``rudratune.search.results.pareto_front``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rudratune.train.cost import COST_KEYS
from rudratune.train.metrics import METRICS


def direction_of(metric: str) -> str | None:
    """``min`` or ``max`` for a metric a sweep can optimise or constrain; None for an unknown name."""
    if metric in COST_KEYS:
        return "min"
    info = METRICS.get(metric)
    return info.direction if info else None


def objective_names() -> list[str]:
    return [*METRICS, *COST_KEYS]


_BOUND = re.compile(r"^\s*(<=|>=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``key op bound``, e.g. ``latency_ms <= 5``."""

    key: str
    op: str
    bound: float

    @property
    def before_training(self) -> bool:
        """Measured before the first training step (a cost), so a violating trial never trains."""
        return self.key in COST_KEYS

    def violation(self, value: float) -> float:
        """By how much ``value`` breaks the bound; 0 or less is feasible (Optuna's convention)."""
        return value - self.bound if self.op == "<=" else self.bound - value

    def __str__(self) -> str:
        return f"{self.key} {self.op} {self.bound:g}"


def parse_constraint(key: str, text: Any) -> Constraint:
    """``"<= 10"`` → Constraint; ValueError with the valid spelling otherwise."""
    if direction_of(key) is None:
        raise ValueError(f"'{key}' cannot be constrained; valid keys: {', '.join(objective_names())}")
    match = _BOUND.match(str(text)) if isinstance(text, (str, int, float)) else None
    if match is None:
        raise ValueError(f"{key}: {text!r} is not a constraint; write '<= NUMBER' or '>= NUMBER'")
    return Constraint(key, match.group(1), float(match.group(2)))


def parse_constraints(raw: Mapping[str, Any]) -> tuple[Constraint, ...]:
    return tuple(parse_constraint(key, text) for key, text in raw.items())


def trained_value(result: Mapping[str, Any], key: str) -> float | None:
    """A trial's value of ``key``: its best so far for trained metrics (``best_<key>``), else as reported."""
    value = result.get(f"best_{key}", result.get(key))
    if value is None or value == "":
        return None
    value = float(value)
    return None if math.isnan(value) else value


def violations(constraints: Iterable[Constraint], result: Mapping[str, Any]) -> dict[str, float]:
    """Each constraint's violation for the metrics ``result`` has (missing metrics are not judged)."""
    found = {}
    for c in constraints:
        value = trained_value(result, c.key)
        if value is not None:
            found[str(c)] = c.violation(value)
    return found


def first_violation(constraints: Iterable[Constraint], result: Mapping[str, Any]) -> str | None:
    """``"params_m 32.5 > 10"`` for the first broken constraint, or None when all hold."""
    for c in constraints:
        value = trained_value(result, c.key)
        if value is not None and c.violation(value) > 0:
            broken = ">" if c.op == "<=" else "<"
            return f"{c.key} {value:.4g} {broken} {c.bound:g}"
    return None
