"""Which trial ``rudratune export`` writes: the best (default), a named trial, or a cheaper one within a
margin of the best (``--pick fastest-within 0.01``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rudratune.errors import UserError
from rudratune.search.results.row import TrialRow


@dataclass(frozen=True)
class PickRule:
    name: str
    cost: str
    """The cost the rule minimises among the trials within the margin."""
    meaning: str
    spread: str | None = None
    """The measured noise of ``cost`` (a timing): a choice by less than it is refused."""


PICK_RULES: dict[str, PickRule] = {
    rule.name: rule
    for rule in (
        PickRule(
            "fastest-within",
            "latency_ms",
            "the lowest latency_ms within MARGIN of the best trial",
            spread="latency_spread_ms",
        ),
        PickRule("smallest-within", "params_m", "the fewest parameters within MARGIN of the best trial"),
        PickRule(
            "fewest-flops-within", "flops_g", "the fewest GFLOPs per image within MARGIN of the best trial"
        ),
    )
}


def choose(
    ranked_rows: Sequence[TrialRow],
    all_rows: Sequence[TrialRow],
    *,
    metric: str,
    mode: str,
    pick: list[str] | None = None,
    trial: str | None = None,
) -> tuple[TrialRow, dict[str, Any]]:
    """(the chosen row, how it was chosen: recorded in the export's provenance).

    Args:
        ranked_rows: trials with a score, best first (feasible first).
        all_rows: every trial, for ``trial``.
        metric, mode: the sweep's primary metric.
        pick: ``[RULE, MARGIN]``.
        trial: a trial id.
    """
    if trial is not None:
        return _by_id(ranked_rows, all_rows, trial), {"rule": "trial", "trial_id": trial}
    best = ranked_rows[0]
    if not pick:
        return best, {"rule": "best", "metric": metric, "mode": mode}
    rule, margin = _parse_pick(pick)
    best_value = _value(best, metric)
    sign = 1 if mode == "max" else -1
    within = [
        r
        for r in ranked_rows
        if r.feasible
        and sign * (best_value - _value(r, metric)) <= margin + 1e-12  # False for NaN: unmeasured
        and not math.isnan(_value(r, rule.cost))
    ]
    if not within:
        raise UserError(f"--pick: no trial within {margin:g} of the best measured {rule.cost}")
    chosen = min(within, key=lambda r: _value(r, rule.cost))
    if rule.spread is not None:
        _refuse_inside_noise(rule, chosen, within)
    return chosen, {
        "rule": f"{rule.name} {margin:g}",
        "meaning": rule.meaning.replace("MARGIN", f"{margin:g} {metric}"),
        "best_trial": best.trial_id,
        f"best_{metric}": best_value,
        "candidates": [r.trial_id for r in within],
        rule.cost: _value(chosen, rule.cost),
        f"chosen_{metric}": _value(chosen, metric),
    }


def _refuse_inside_noise(rule: PickRule, chosen: TrialRow, within: list[TrialRow]) -> None:
    """A cheapest trial that is cheaper than another candidate by less than their two spreads together is no
    choice: the machine's load could have ordered them either way. (Six builds of one network on a busy CPU
    differed by up to 0.74 times the sum of two spreads, but 1.27 times the larger one.)"""
    cost, key = _value(chosen, rule.cost), rule.spread or ""
    for other in within:
        if other is chosen:
            continue
        gap = _value(other, rule.cost) - cost
        noise = _spread(chosen, key) + _spread(other, key)
        if noise > 0 and gap <= noise:
            raise UserError(
                f"--pick {rule.name}: trials {chosen.trial_id} and {other.trial_id} differ by "
                f"{gap:.3g} ms in {rule.cost}, inside their measured spreads ({noise:.3g} ms together): the load, not the "
                "model, could decide; use --pick fewest-flops-within or smallest-within, or a larger gap"
            )


def _spread(row: TrialRow, key: str) -> float:
    value = _value(row, key)
    return 0.0 if math.isnan(value) else value


def _value(row: TrialRow, key: str) -> float:
    value = row.value(key)
    return math.nan if value is None else value


def _parse_pick(pick: list[str]) -> tuple[PickRule, float]:
    name, text = pick
    rule = PICK_RULES.get(name)
    if rule is None:
        raise UserError(f"--pick: unknown rule '{name}'; valid: {', '.join(PICK_RULES)}")
    try:
        margin = float(text)
    except ValueError:
        margin = -1.0
    if not margin >= 0:
        raise UserError(f"--pick: the margin must be a number >= 0, got '{text}'")
    return rule, margin


def _by_id(ranked_rows: Sequence[TrialRow], all_rows: Sequence[TrialRow], trial: str) -> TrialRow:
    row = next((r for r in ranked_rows if r.trial_id == trial), None)
    if row is not None:
        return row
    other = next((r for r in all_rows if r.trial_id == trial), None)
    if other is None:
        known = ", ".join(r.trial_id for r in all_rows)
        raise UserError(f"--trial: no trial '{trial}' in this sweep; trials: {known}")
    raise UserError(f"--trial: trial {trial} has no result to export ({other.reason})")
