"""Choosing the trial to export: best, by id, or the cheapest within a margin of the best."""

from __future__ import annotations

import pytest

from rudratune.errors import UserError
from rudratune.search.results import PICK_RULES, TrialRow, choose, ranked
from tests.helpers import trial_rows_of

ROWS = trial_rows_of(
    [
        {"trial_id": "a", "best_val_dice": 0.800, "latency_ms": 9.0, "params_m": 14.0, "feasible": True},
        {"trial_id": "b", "best_val_dice": 0.795, "latency_ms": 3.0, "params_m": 6.0, "feasible": True},
        {"trial_id": "c", "best_val_dice": 0.792, "latency_ms": 2.0, "params_m": 2.0, "feasible": True},
        {"trial_id": "d", "best_val_dice": 0.900, "latency_ms": 1.0, "params_m": 30.0, "feasible": False},
        {
            "trial_id": "e",
            "latency_ms": 0.5,
            "params_m": 40.0,
            "feasible": False,
            "ending": "refused",
        },
    ]
)


def _choose(**kwargs: object) -> tuple[TrialRow, dict]:
    return choose(ranked(ROWS, "val_dice", "max"), ROWS, metric="val_dice", mode="max", **kwargs)


def test_best_is_the_best_feasible_trial() -> None:
    row, choice = _choose()
    assert row.trial_id == "a" and choice["rule"] == "best"


@pytest.mark.parametrize(
    ("rule", "margin", "expected"),
    [
        ("fastest-within", "0.01", "c"),
        ("fastest-within", "0.006", "b"),
        ("fastest-within", "0", "a"),
        ("smallest-within", "0.01", "c"),
    ],
)
def test_cheapest_within_a_margin_of_the_best(rule: str, margin: str, expected: str) -> None:
    assert rule in PICK_RULES
    row, choice = _choose(pick=[rule, margin])
    assert row.trial_id == expected
    assert (
        choice["best_trial"] == "a" and expected in choice["candidates"] and "d" not in choice["candidates"]
    )


def test_a_trial_by_id_and_the_errors_a_user_can_make() -> None:
    assert _choose(trial="b")[0].trial_id == "b"
    with pytest.raises(UserError, match="--trial: no trial 'zz' in this sweep; trials: a, b, c, d, e"):
        _choose(trial="zz")
    with pytest.raises(
        UserError, match="--trial: trial e has no result to export \\(refused before training\\)"
    ):
        _choose(trial="e")
    with pytest.raises(
        UserError,
        match="--pick: unknown rule 'quickest'; valid: fastest-within, smallest-within, fewest-flops-within",
    ):
        _choose(pick=["quickest", "0.1"])
    with pytest.raises(UserError, match="--pick: the margin must be a number >= 0, got 'x'"):
        _choose(pick=["fastest-within", "x"])


NOISY = trial_rows_of(
    [
        {
            "trial_id": "a",
            "best_val_dice": 0.80,
            "latency_ms": 30.0,
            "latency_spread_ms": 9.0,
            "flops_g": 1.2,
        },
        {
            "trial_id": "b",
            "best_val_dice": 0.79,
            "latency_ms": 24.0,
            "latency_spread_ms": 8.0,
            "flops_g": 1.2,
        },
        {"trial_id": "c", "best_val_dice": 0.70, "latency_ms": 5.0, "latency_spread_ms": 1.0, "flops_g": 0.3},
    ]
)


def _noisy(pick: list[str]) -> tuple[TrialRow, dict]:
    return choose(ranked(NOISY, "val_dice", "max"), NOISY, metric="val_dice", mode="max", pick=pick)


def test_fastest_within_refuses_a_choice_inside_the_measured_spread() -> None:
    """a and b (the same network, measured under different load) differ by 6 ms, inside their spreads."""
    with pytest.raises(UserError) as refused:
        _noisy(["fastest-within", "0.02"])
    line = str(refused.value)
    assert "\n" not in line and line.startswith("--pick fastest-within: trials b and a differ by 6 ms")
    assert "inside their measured spreads (17 ms together)" in line
    assert _noisy(["fastest-within", "0.2"])[0].trial_id == "c"  # 19 ms faster than b: outside the noise


def test_fewest_flops_within_chooses_by_a_cost_the_load_cannot_move() -> None:
    row, choice = _noisy(["fewest-flops-within", "0.2"])
    assert row.trial_id == "c" and choice["flops_g"] == 0.3
