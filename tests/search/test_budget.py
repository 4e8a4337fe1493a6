"""``search.budget_trial_epochs``: the stopper that spends it, and how results tell its stops from ASHA's."""

from __future__ import annotations

from pathlib import Path

from rudratune.search.driver import relabel_budget_stops
from rudratune.search.record import record_for
from rudratune.search.results import TrialEnding, TrialRow
from rudratune.search.space import load_sweep
from rudratune.search.strategy import TrialEpochBudget
from tests.helpers import EXPERIMENT


def test_stopper_ends_the_sweep_once_the_budget_is_spent() -> None:
    stopper = TrialEpochBudget(4)
    for trial_id, epoch in (("a", 1), ("b", 1), ("a", 2)):
        assert stopper(trial_id, {"epoch": epoch}) is False  # never stops one trial by itself
        assert not stopper.stop_all()
    # a trial that ran all its epochs: Tune passes its last result again when the function returns
    stopper("a", {"epoch": 2, "__duplicate__": True})
    stopper("c", {"epoch": 0, "refused": "params_m 21 > 20"})  # refused before training: no epoch
    assert stopper.used == 3 and not stopper.stop_all()
    stopper("b", {"epoch": 2})
    assert stopper.used == 4 and stopper.stop_all()


def test_budget_stops_are_told_apart_from_asha_stops(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        f"experiment: {EXPERIMENT}\nsearch: {{budget_trial_epochs: 30, scheduler: {{grace_period: 1, reduction_factor: 3}}}}\n"
        "space:\n  trainer.max_epochs: {value: 5}\n"
    )
    record = record_for(tmp_path, load_sweep(space), storage=None, output_root=tmp_path)
    rows = [
        TrialRow(trial_id=str(e), epochs=e, ending=ending)
        for e, ending in [(e, TrialEnding.STOPPED_BY_ASHA) for e in (0, 1, 3, 4)]
        + [(5, TrialEnding.COMPLETED)]
    ]
    rows = relabel_budget_stops(rows, record)
    assert [r.reason for r in rows] == [
        "stopped at epoch 0: the sweep's budget ran out",
        "stopped by ASHA at epoch 1",  # rungs at 1 and 3 (grace 1, reduction 3, max_t 5)
        "stopped by ASHA at epoch 3",
        "stopped at epoch 4: the sweep's budget ran out",
        "completed 5 epochs",
    ]
    assert [r.ending for r in rows].count(TrialEnding.STOPPED_BY_BUDGET) == 2
