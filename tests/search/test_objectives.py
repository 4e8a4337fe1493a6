"""Constraints (spelling, violations) and the Pareto front, on plain rows."""

from __future__ import annotations

import pytest

from rudratune.search.results import pareto_front
from rudratune.search.space import first_violation, parse_constraint, violations
from tests.helpers import trial_rows_of


@pytest.mark.parametrize(
    ("key", "text", "value", "violation"),
    [("params_m", "<= 10", 12.5, 2.5), ("latency_ms", "<=5", 4.0, -1.0), ("val_dice", ">= 0.5", 0.4, 0.1)],
)
def test_constraint_violation_follows_optunas_sign(
    key: str, text: str, value: float, violation: float
) -> None:
    c = parse_constraint(key, text)
    assert c.violation(value) == pytest.approx(violation)
    assert c.before_training == (key != "val_dice")


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("params_m", "< 10", "params_m: '< 10' is not a constraint; write '<= NUMBER' or '>= NUMBER'"),
        ("params_m", "ten", "params_m: 'ten' is not a constraint"),
        (
            "flops",
            "<= 1",
            "'flops' cannot be constrained; valid keys: val_loss, val_dice, val_iou, val_ref_loss, params_m",
        ),
    ],
)
def test_bad_constraints_say_what_is_valid(key: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_constraint(key, text)


def test_trained_constraints_judge_the_best_value_and_skip_what_is_missing() -> None:
    cs = [parse_constraint("val_dice", ">= 0.5"), parse_constraint("peak_mem_mb", "<= 100")]
    row = {"val_dice": 0.3, "best_val_dice": 0.6}  # no GPU: no peak_mem_mb
    assert violations(cs, row) == {"val_dice >= 0.5": pytest.approx(-0.1)}
    assert first_violation(cs, row) is None
    assert first_violation(cs, {"best_val_dice": 0.45}) == "val_dice 0.45 < 0.5"


def test_pareto_front_keeps_the_non_dominated_feasible_rows() -> None:
    rows = trial_rows_of(
        [
            {"trial_id": "a", "best_val_dice": 0.80, "latency_ms": 10.0},
            {"trial_id": "b", "best_val_dice": 0.70, "latency_ms": 4.0},
            {"trial_id": "c", "best_val_dice": 0.65, "latency_ms": 5.0},  # dominated by b
            {"trial_id": "d", "best_val_dice": 0.90, "latency_ms": 2.0, "feasible": False},
            {"trial_id": "e", "latency_ms": 1.0},  # refused: never trained
        ]
    )
    front = pareto_front(rows, ["val_dice", "latency_ms"], ["max", "min"])
    assert [r.trial_id for r in front] == ["a", "b"]


def test_a_metric_list_is_primary_plus_secondary_and_round_trips_through_sweep_json() -> None:
    from rudratune.search.space import SweepSettings

    settings = SweepSettings.model_validate(
        {
            "experiment": "x.yaml",
            "metric": ["val_dice", "latency_ms"],
            "mode": ["max", "min"],
            "constraints": {"params_m": "<= 10"},
            "search": {"searcher": {"name": "nsga2"}},
        }
    )
    assert settings.metric == "val_dice" and settings.rank_metric == "rank_val_dice"
    assert settings.objectives == ["val_dice", "latency_ms"] and settings.modes == ["max", "min"]
    assert settings.tune_objectives == ["rank_val_dice", "latency_ms"]
    assert settings.search.searcher.sampler_args(12)["sampler"] == "NSGAIISampler"
    again = SweepSettings.model_validate(settings.model_dump(mode="json"))  # what resume reads back
    assert again.objectives == settings.objectives and again.constraint_list == settings.constraint_list
