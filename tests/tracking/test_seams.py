"""Issue 19's tracker seams: W&B's own switches decide its mode, and `rudratune train` logs to MLflow the way
a sweep trial does (names, step = epoch, best_epoch once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from rudratune.config.schema import TrackingConfig
from rudratune.tracking.common import wandb_mode
from tests.helpers import EXPERIMENT, cli, tiny_overrides

NETRC = "machine api.wandb.ai\n  login user\n  password {key}\n"


@pytest.fixture
def no_wandb_switches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment with none of W&B's switches set: a fresh home, netrc and config folder."""
    home = tmp_path / "home"
    home.mkdir()
    for key in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(home / "wandb-config"))
    monkeypatch.chdir(tmp_path)
    return home


def _auto() -> str:
    return wandb_mode(TrackingConfig(wandb_mode="auto"))


def test_offline_is_the_default_only_where_nothing_is_set(no_wandb_switches: Path) -> None:
    assert _auto() == "offline"


def test_a_wandb_login_in_the_netrc_turns_w_and_b_online(no_wandb_switches: Path) -> None:
    netrc = no_wandb_switches / ".netrc"
    netrc.write_text(NETRC.format(key="a" * 40))
    netrc.chmod(0o600)
    assert _auto() == "online"


def test_wandb_mode_and_wandb_offline_beat_the_login(
    no_wandb_switches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = no_wandb_switches / ".netrc"
    netrc.write_text(NETRC.format(key="a" * 40))
    netrc.chmod(0o600)
    monkeypatch.setenv("WANDB_API_KEY", "b" * 40)
    (no_wandb_switches / "wandb-config").mkdir()
    # what `wandb offline` writes
    (no_wandb_switches / "wandb-config" / "settings").write_text("[default]\nmode = offline\n")
    assert _auto() == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert _auto() == "disabled"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert _auto() == "online"
    assert wandb_mode(TrackingConfig(wandb_mode="offline")) == "offline"  # a setting of the run wins


@pytest.mark.slow
def test_train_logs_like_a_trial_and_wandb_mode_disabled_writes_no_run(tiny_data: Path, out: Path) -> None:
    result = cli(
        "--output-root",
        str(out),
        "train",
        str(EXPERIMENT),
        *tiny_overrides(tiny_data),
        "-q",
        env={"WANDB_MODE": "disabled"},
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = (out / "train").iterdir()
    assert not [p for p in out.rglob("*") if "wandb" in p.name.lower() and p.name != ".wandb"]
    assert not (out / ".wandb").exists() or not any((out / ".wandb").rglob("*.wandb"))

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("rudratune").experiment_id])
    names = set(run.data.metrics)
    assert {"train_loss", "val_loss", "val_dice", "val_ref_loss", "lr", "best_val_dice"} <= names
    assert not {"train_loss_epoch", "lr-Adam"} & names  # Lightning's names, which trials never had

    def steps(key: str) -> list[int]:
        return [m.step for m in client.get_metric_history(run.info.run_id, key)]

    for key in ("train_loss", "val_loss", "val_dice", "lr", "best_val_loss"):
        assert steps(key) == [1, 2], key  # step = epoch, as a trial logs it
    assert len(steps("best_epoch")) == 1  # one value, not a series
    assert steps("train_loss_step")  # the per-step series keeps its own name
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == [tiny_data.name]


def test_a_trial_logs_best_epoch_once_and_the_train_run_names(tmp_path: Path) -> None:
    """The driver's child run of a trial: the names `rudratune train` logs, step = epoch, best_epoch once, and
    the sweep's dataset, as a train run has it."""
    from ray.tune.experiment import Trial

    from rudratune.search.driver import SweepTracker
    from rudratune.tracking.common import ensure_mlflow_experiment
    from rudratune.tracking.dataset import dataset_input

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_mlflow_experiment(uri, "seams", tmp_path)
    client = MlflowClient(tracking_uri=uri)
    parent = client.create_run(experiment_id, tags={"rudratune.kind": "sweep"}).info.run_id
    tracker = SweepTracker(
        sweep="seams",
        mlflow_uri=uri,
        experiment_id=experiment_id,
        parent_run_id=parent,
        wandb=None,
        base_params={},
        max_epochs=3,
    )
    data = tmp_path / "pores"
    data.mkdir()
    tracker.dataset_inputs = [dataset_input(data, digest_="0123456789abcdef")]  # what start_tracking sets
    trial = Trial("run_trial", config={}, trial_id="s_00001", stub=True)
    tracker.on_trial_start(0, [], trial)
    for epoch, loss in ((1, 0.9), (2, 0.5), (3, 0.7)):
        row = {"epoch": epoch, "train_loss": loss, "val_loss": loss, "best_val_loss": min(loss, 0.9)}
        result = {**row, "lr": 1e-3, "rank_val_loss": -loss, "params_m": 1.0}
        trial.update_last_result(result)
        tracker.on_trial_result(epoch, [], trial, result)
    tracker.on_trial_complete(3, [], trial)
    (run,) = client.search_runs([experiment_id], filter_string="tags.`rudratune.kind` = 'trial'")
    assert set(run.data.metrics) == {"train_loss", "val_loss", "best_val_loss", "lr", "best_epoch"}
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [1, 2, 3]
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "best_epoch")] == [(3, 2.0)]
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest) for i in inputs] == [("pores", "0123456789abcdef")]


def test_disk_used_by_a_sweep_counts_its_mlflow_artifacts_and_no_other_runs(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from rudratune.tracking.common import ensure_mlflow_experiment
    from rudratune.tracking.disk import sweep_tracker_bytes

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = ensure_mlflow_experiment(uri, "disk", tmp_path)
    client = MlflowClient(tracking_uri=uri)
    parent = client.create_run(experiment_id).info.run_id
    child = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent}).info.run_id
    other = client.create_run(experiment_id).info.run_id  # another sweep's run: not counted
    for run_id, size in ((parent, 1000), (child, 300), (other, 5000)):
        blob = tmp_path / f"{run_id}.bin"
        blob.write_bytes(b"x" * size)
        client.log_artifact(run_id, str(blob))
    tracker = SimpleNamespace(mlflow_uri=uri, experiment_id=experiment_id, parent_run_id=parent)
    assert (tmp_path / "mlartifacts").is_dir()  # under the output root, outside the sweep folder
    assert sweep_tracker_bytes(tracker) == 1300
    assert sweep_tracker_bytes(SimpleNamespace(mlflow_uri=None, experiment_id=None, parent_run_id=None)) == 0


def test_wandb_summaries_cover_every_metric_and_its_running_best_in_its_direction() -> None:
    from rudratune.tracking.lightning import SUMMARIES
    from rudratune.train.metrics import METRICS, running_best_key

    for name, info in METRICS.items():
        assert SUMMARIES[name] == SUMMARIES[running_best_key(name)] == info.direction, name
    assert SUMMARIES["lr"] == "last"
