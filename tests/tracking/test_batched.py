"""The batched loggers of ``rudratune train`` on a real sqlite MLflow store and a real offline W&B run: the
points are kept until ``flush`` (the epoch's end) and arrive with their own steps, in their order."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudratune.tracking import batched
from rudratune.tracking.batched import BatchedMLFlowLogger, BatchedWandbLogger, flush
from tests.helpers import history, written


def mlflow_logger(tmp_path: Path) -> BatchedMLFlowLogger:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return BatchedMLFlowLogger(experiment_name="batched", tracking_uri=uri, synchronous=True)


def steps_of(logger: BatchedMLFlowLogger, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in logger.experiment.get_metric_history(logger.run_id, key)]


def test_mlflow_points_reach_the_store_at_flush_with_their_steps(tmp_path: Path) -> None:
    logger = mlflow_logger(tmp_path)
    for step in (2, 4, 6):
        logger.log_metrics({"train_loss_step": 1.0 / step, "bad key!": 0.5}, step=step)
    assert steps_of(logger, "train_loss_step") == []  # kept
    flush([logger])
    assert steps_of(logger, "train_loss_step") == [(2, 0.5), (4, 0.25), (6, 1.0 / 6)]
    assert steps_of(logger, "bad key") == [(2, 0.5), (4, 0.5), (6, 0.5)]  # Lightning's own renaming
    flush([logger])  # nothing kept: nothing sent twice
    assert len(steps_of(logger, "train_loss_step")) == 3


def test_a_point_waits_no_longer_than_flush_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batched, "FLUSH_S", 0.0)
    logger = mlflow_logger(tmp_path)
    logger.log_metrics({"a": 1.0}, step=1)
    logger.log_metrics({"a": 2.0}, step=2)  # the first has waited FLUSH_S: both go
    assert steps_of(logger, "a") == [(1, 1.0), (2, 2.0)]


def test_more_points_than_one_mlflow_batch_holds_all_arrive(tmp_path: Path) -> None:
    logger = mlflow_logger(tmp_path)
    for step in range(batched.MAX_BATCH + 500):
        logger.log_metrics({"a": float(step)}, step=step)
    logger.finalize("success")  # Lightning's end of fit flushes too
    assert [s for s, _ in steps_of(logger, "a")] == list(range(batched.MAX_BATCH + 500))


def test_wandb_points_are_logged_at_flush_in_their_order(tmp_path: Path) -> None:
    logger = BatchedWandbLogger(project="batched", save_dir=str(tmp_path), mode="offline")
    for step in (1, 2, 3):
        logger.log_metrics({"train_loss_step": float(step)}, step=step)
    run = logger.experiment
    assert run.summary.get("train_loss_step") is None  # kept
    flush([logger])
    assert run.summary["train_loss_step"] == 3.0
    run.finish()
    (run_file,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    written(run_file)
    rows = [h for h in history(run_file) if "train_loss_step" in h]
    assert [(h["trainer/global_step"], h["train_loss_step"]) for h in rows] == [(1, 1.0), (2, 2.0), (3, 3.0)]
