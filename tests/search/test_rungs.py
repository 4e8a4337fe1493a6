"""The sweep's check on its own rungs: rank correlation of each epoch with the final ranking."""

from __future__ import annotations

import random

import pytest

from rudratune.search.results import rung_warning
from rudratune.search.space import MIN_TRIALS, agreement, chance_level, ranks, settled, spearman


def test_spearman_and_ranks_with_ties() -> None:
    assert ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([0, 0, 0, 0], [1, 2, 3, 4]) == 0.0  # every trial tied: no information


def curves(n: int, *, early_noise: bool, seed: int = 0) -> list[list[float]]:
    """Running-best curves over 8 epochs; with early_noise the first epochs are unrelated to the end."""
    rng = random.Random(seed)
    out = []
    for quality in rng.sample(range(100), n):
        values = [rng.random() if early_noise and e < 4 else quality / 100 * (e + 1) / 8 for e in range(8)]
        out.append([max(values[: i + 1]) for i in range(8)])
    return out


def test_an_informative_first_rung_says_nothing() -> None:
    assert rung_warning(curves(10, early_noise=False), (1, 3), 8) is None


def test_a_first_rung_close_to_chance_is_said_with_a_later_grace_period() -> None:
    histories = curves(12, early_noise=True, seed=3)
    by_epoch = agreement(histories, 8)
    assert by_epoch[1] < 0.6 <= by_epoch[5]
    text = rung_warning(histories, (1, 3), 8)
    assert text is not None and "rung at epoch 1" in text and "12 trials that ran all 8 epochs" in text
    later = next(e for e in sorted(by_epoch) if e > 1 and by_epoch[e] >= 0.6)
    assert f"grace_period: {later}" in text


def test_too_few_finished_trials_or_no_rungs_say_nothing() -> None:
    noisy = curves(12, early_noise=True, seed=3)
    assert rung_warning(noisy[: MIN_TRIALS - 1], (1, 3), 8) is None
    assert rung_warning([h[:3] for h in noisy], (1, 3), 8) is None  # stopped early: not finished
    assert rung_warning(noisy, (), 8) is None  # FIFO


def test_chance_level_is_the_exact_tail_for_few_trials() -> None:
    assert chance_level(6) == pytest.approx(0.8286, abs=1e-4)  # tables of Spearman's critical values
    assert chance_level(8) == pytest.approx(0.6429, abs=1e-4)
    assert chance_level(30) == pytest.approx(1.645 / 29**0.5)
    rng = random.Random(0)  # and by simulation: random rankings of 6 reach it at most 5 % of the time
    base = list(range(6))
    hits = sum(settled(spearman(base, rng.sample(base, 6)), 6) for _ in range(4000))
    assert 0.015 < hits / 4000 <= 0.05  # 2.9 % exactly; the next level down, 0.77, has 5.1 %


def test_a_ranking_must_agree_strongly_and_beyond_chance() -> None:
    assert settled(0.85, 6) and not settled(
        0.8, 6
    )  # 0.8 with 6 trials: random rankings get there 6 % of the time
    assert settled(0.65, 8) and not settled(0.55, 30)  # with 30, chance is 0.31, but agreement must be 0.6
