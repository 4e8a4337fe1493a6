"""The searcher's record of a trial in its Optuna study (a real in-memory study, Ray's OptunaSearch)."""

from __future__ import annotations

from ray import tune

from rudratune.search.strategy.searcher import ConstrainedOptunaSearch


def test_a_trial_restored_from_an_earlier_checkpoint_keeps_the_epochs_of_its_last_life() -> None:
    """A trial killed after epoch 3, restored from epoch 1's checkpoint and stopped at epoch 2: the study holds
    epochs 1 and 2 of its last life, not epoch 3 of the one before."""
    searcher = ConstrainedOptunaSearch(
        space={"lr": tune.loguniform(1e-4, 1e-1)}, metric="val_loss", mode="min", max_epochs=4
    )
    assert searcher.suggest("t1") is not None
    for epoch, loss in ((1, 0.9), (2, 0.8), (3, 0.7), (2, 0.85)):
        searcher.on_trial_result("t1", {"epoch": epoch, "val_loss": loss})
    searcher.on_trial_complete("t1", {"epoch": 2, "val_loss": 0.85})
    (trial,) = searcher._ot_study.trials
    assert trial.intermediate_values == {1: 0.9, 2: 0.85}
    assert trial.user_attrs["ray_trial_id"] == "t1"
