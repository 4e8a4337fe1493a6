"""Fault tolerance: retries from checkpoints, failing and NaN trials, two nodes (kill -9 of the driver, three
times: ``test_kill_storm.py``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import EXPERIMENT, cli, mlflow_runs, read_rows, tiny_space

pytestmark = pytest.mark.slow


def faulty_space(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "faulty.yaml"
    path.write_text(f"""
experiment: {EXPERIMENT}
max_failures: 1
checkpoints: {{every_s: 0}}  # every epoch: the retry below goes on from epoch 1
search:
  num_samples: 3
  max_concurrent: 2
  scheduler: {{name: fifo}}
space:
  data.root: {{value: {data}}}
  data.image_size: {{value: 32}}
  data.batch_size: {{value: 4}}
  trainer.max_epochs: {{value: 3}}
  model.name: {{value: monai.UNet}}
  loss.name: {{grid: [GeneralizedDiceLoss, DiceLoss, DiceCELoss]}}
  optimizer.lr: {{value: 1.0e+30, when: {{loss.name: [DiceCELoss]}}}}
  tracking.log_models: {{value: false}}  # no test here looks at the best model
""")
    return path


def test_retry_from_checkpoint_failing_and_nan_trials(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    faults = "2@loss.name=GeneralizedDiceLoss;always:1@loss.name=DiceLoss"
    result = cli(
        "--output-root",
        str(out),
        "run",
        str(faulty_space(tmp_path, tiny_data)),
        "--name",
        "faulty",
        "--no-report",
        env={"RUDRATUNE_TEST_FAULT": faults},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 errored" in result.stdout
    rows = {r["loss.name"]: r for r in read_rows(out / "faulty")}
    assert len(rows) == 3

    retried = rows["GeneralizedDiceLoss"]
    assert retried["status"] == "TERMINATED" and retried["reason"] == "completed 3 epochs"
    failing, nan = rows["DiceLoss"], rows["DiceCELoss"]
    assert failing["status"] == "ERROR" and "test fault injected at epoch 1" in failing["error"]
    assert (
        nan["status"] == "ERROR"
        and "loss became" in nan["error"]
        and ("nan" in nan["error"] or "inf" in nan["error"])
    )

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    _, children = mlflow_runs(out)
    by_trial = {c.data.tags["rudratune.trial_id"]: c for c in children}
    ok = by_trial[retried["trial_id"]]
    assert ok.info.status == "FINISHED" and "test fault" in ok.data.tags["rudratune.last_retry_error"]
    # continued from the epoch-1 checkpoint: every epoch logged once, none from scratch again
    steps = [m.step for m in client.get_metric_history(ok.info.run_id, "val_loss")]
    assert sorted(steps) == [1, 2, 3]
    for row in (failing, nan):
        run = by_trial[row["trial_id"]]
        assert run.info.status == "FAILED" and run.data.tags["rudratune.error"]


def test_two_node_cluster_and_shared_storage(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        storage = tmp_path / "shared-storage"
        space = tiny_space(tmp_path, tiny_data, num_samples=4, epochs=2, log_models=False)
        result = cli(
            "--output-root",
            str(out),
            "run",
            str(space),
            "--name",
            "two",
            "--no-report",
            "--address",
            cluster.address,
            "--storage",
            str(storage),
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        cluster.shutdown()
    trial_dirs = list((storage / "two").glob("run_trial_*"))
    assert len(trial_dirs) == 4
    nodes = set()
    for trial_dir in trial_dirs:
        with (trial_dir / "progress.csv").open() as f:
            nodes |= {row["node_id"] for row in csv.DictReader(f)}
    assert len(nodes) == 2  # trials ran on both nodes
    assert any(trial_dir.glob("checkpoint_*") for trial_dir in trial_dirs)
    assert len(read_rows(out / "two")) == 4


def test_fail_fast_stops_at_the_first_error(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    result = cli(
        "--output-root",
        str(out),
        "run",
        str(faulty_space(tmp_path, tiny_data)),
        "--name",
        "ff",
        "--no-report",
        "--fail-fast",
        env={"RUDRATUNE_TEST_FAULT": "always:1"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--fail-fast: stopped at the first trial error" in result.stderr
    assert any(r["status"] == "ERROR" for r in read_rows(out / "ff"))
    parents, children = mlflow_runs(out)
    assert parents[0].info.status == "FAILED"
    assert not any(c.info.status == "RUNNING" for c in children)
