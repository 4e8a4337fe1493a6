"""ASHA with a measured first rung: nothing stops until the ranking's settling point is known, then ASHA's rule."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from rudratune.search.record import RungDecision, decision_line, grace_text, sweep_rungs
from rudratune.search.space import MIN_TRIALS, TrialSchedulerSettings
from rudratune.search.strategy import MeasuredASHA

MAX_T = 8
CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP


def curve(final: float, settles_at: int, rng: random.Random) -> list[float]:
    """A running best that is noise before ``settles_at`` and tracks ``final`` from there on."""
    noise = [rng.random() * 0.1 for _ in range(settles_at - 1)]
    early = [max(noise[: i + 1]) for i in range(len(noise))]
    return early + [final * e / MAX_T for e in range(settles_at, MAX_T + 1)]


def feed(scheduler: MeasuredASHA, trial: Trial, values: list[float], start: int = 1) -> list[str]:
    """The scheduler's decisions on a trial's results, epoch by epoch, until it says stop (as Tune does)."""
    decisions = []
    for epoch, value in enumerate(values[start - 1 :], start=start):
        decisions.append(scheduler.on_trial_result(None, trial, {"epoch": epoch, "rank_val_dice": value}))
        if decisions[-1] == STOP:
            break
    return decisions


def measured(tmp_path: Path, rf: float = 3) -> MeasuredASHA:
    return MeasuredASHA(
        metric="rank_val_dice", mode="max", max_t=MAX_T, reduction_factor=rf, run_dir=tmp_path
    )


def test_nothing_stops_until_measured_then_the_rung_goes_where_the_ranking_settled(tmp_path: Path) -> None:
    rng = random.Random(0)
    scheduler = measured(tmp_path)
    finals = [0.2, 0.5, 0.3, 0.8, 0.6, 0.4]
    for final in finals[:-1]:  # five finished trials: not enough to measure; the worst goes on too
        assert set(feed(scheduler, Trial("t", stub=True), curve(final, 5, rng))) == {CONTINUE}
    assert scheduler.rungs == () and RungDecision.read(tmp_path) is None
    running = Trial("t", stub=True)  # in flight at epoch 6 when the sixth trial finishes
    assert set(feed(scheduler, running, curve(0.05, 5, rng)[:6])) == {CONTINUE}
    assert set(feed(scheduler, Trial("t", stub=True), curve(finals[-1], 5, rng))) == {CONTINUE}

    decision = RungDecision.read(tmp_path)
    assert decision is not None and decision.grace_period == 5 and decision.after_trials == MIN_TRIALS
    assert decision.spearman[5] == 1.0 and decision.spearman[1] < 0.6
    assert scheduler.rungs == (5,)  # rf 3: the next rung (15) is past max_t
    # the trial that was past epoch 5 goes on (ASHA stops only at a rung); its value there joined the cut-off
    assert feed(scheduler, running, curve(0.05, 5, rng), start=7) == [CONTINUE, CONTINUE]
    assert len(scheduler.recorded[5]) == MIN_TRIALS + 1
    # a new trial: judged at epoch 5 by ASHA's rule (top third of those recorded there goes on)
    worse = feed(scheduler, Trial("t", stub=True), curve(0.3, 5, rng))
    assert worse == [CONTINUE] * 4 + [STOP]
    better = feed(scheduler, Trial("t", stub=True), curve(0.9, 5, rng))
    assert better == [CONTINUE] * MAX_T


def test_a_resumed_sweep_keeps_the_measured_rung(tmp_path: Path) -> None:
    rng = random.Random(1)
    scheduler = measured(tmp_path)
    before = pickle.dumps(scheduler)  # Tune pickles the scheduler into tuner.pkl when the sweep starts
    for final in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        feed(scheduler, Trial("t", stub=True), curve(final, 2, rng))
    assert scheduler.rungs == (2, 6)
    restored = pickle.loads(before)  # Tuner.restore unpickles it as it was at the start
    assert restored.rungs == (2, 6) and measured(tmp_path).rungs == (2, 6)


def test_no_settled_epoch_means_no_stops(tmp_path: Path) -> None:
    rng = random.Random(2)
    scheduler = measured(tmp_path)
    for final in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):  # settles only at the last epoch
        assert set(feed(scheduler, Trial("t", stub=True), curve(final, MAX_T, rng))) == {CONTINUE}
    assert RungDecision.read(tmp_path).grace_period is None and scheduler.rungs == ()
    assert set(feed(scheduler, Trial("t", stub=True), [0.0] * MAX_T)) == {CONTINUE}
    line = decision_line(TrialSchedulerSettings(), tmp_path, MAX_T)
    assert line is not None and line.startswith("ASHA stopped nothing: after 6 trials ran all 8 epochs")


def test_refused_and_unmeasured_results_are_not_values(tmp_path: Path) -> None:
    scheduler = measured(tmp_path)
    trial = Trial("t", stub=True)
    assert scheduler.on_trial_result(None, trial, {"epoch": 0, "rank_val_dice": float("nan")}) == CONTINUE
    assert scheduler.values == {}


def test_tune_gives_the_scheduler_its_own_metric_only(tmp_path: Path) -> None:
    scheduler = measured(tmp_path)
    assert scheduler.set_search_properties("rank_val_dice", "max")
    assert not scheduler.set_search_properties("val_loss", "min")
    assert scheduler.metric == "rank_val_dice"


def test_rungs_grace_text_and_summary_line(tmp_path: Path) -> None:
    fixed = TrialSchedulerSettings(grace_period=2, reduction_factor=2)
    assert sweep_rungs(fixed, 8, tmp_path) == (2, 4, 8) and grace_text(fixed, tmp_path) == "2"
    assert decision_line(fixed, tmp_path, 8) is None
    auto = TrialSchedulerSettings(reduction_factor=2)
    assert auto.grace_period == "auto" and auto.measured and auto.rungs(8) == ()
    assert sweep_rungs(auto, 8, tmp_path) == ()
    assert "not placed" in grace_text(auto, tmp_path)
    assert "fewer did" in (decision_line(auto, tmp_path, 8) or "")
    (tmp_path / "rungs.json").write_text(
        json.dumps({"grace_period": 3, "spearman": {"3": 0.7}, "after_trials": 6})
    )
    assert sweep_rungs(auto, 8, tmp_path) == (3, 6) and grace_text(auto, tmp_path) == "3 (measured)"
    assert "epoch 3, measured after 6 trials" in (decision_line(auto, tmp_path, 8) or "")


@pytest.mark.parametrize("text", ["auto", 1, 4])
def test_grace_period_takes_auto_or_an_epoch(text: object) -> None:
    assert TrialSchedulerSettings(grace_period=text).grace_period == text


@pytest.mark.parametrize("bad", ["soon", 0, -1, 1.5])
def test_grace_period_refuses_anything_else(bad: object) -> None:
    with pytest.raises(ValueError):
        TrialSchedulerSettings(grace_period=bad)
