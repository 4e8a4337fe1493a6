"""The driver-side tracker on a real sqlite MLflow store and real Tune ``Trial`` objects; redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from ray.tune.experiment import Trial

from rudratune.search.driver import SweepTracker
from rudratune.search.driver.tracker import LOST_TAG, drop_empty_offline_runs, lost_epochs
from rudratune.search.results import TrialEnding, reason_text, trial_ending
from rudratune.tracking.common import ensure_mlflow_experiment, find_sweep_run, flat_params, redact
from tests.helpers import history, written


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[MlflowClient, str]:
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri), ensure_mlflow_experiment(uri, "tracker-test", root)


def tracker(
    store: tuple[MlflowClient, str], sweep: str, parent: str, wandb: dict | None = None
) -> SweepTracker:
    client, experiment_id = store
    return SweepTracker(
        sweep=sweep,
        mlflow_uri=client.tracking_uri,
        experiment_id=experiment_id,
        parent_run_id=parent,
        wandb=wandb,
        base_params=flat_params({"model": {"name": "smp.Unet"}, "tracking": {"api_key": "s3cret"}}),
        max_epochs=4,
    )


def parent_run(store: tuple[MlflowClient, str], run_dir: Path) -> str:
    client, experiment_id = store
    tags = {"rudratune.kind": "sweep", "rudratune.run_dir": str(run_dir.resolve())}
    return client.create_run(experiment_id, tags=tags).info.run_id


def trial(trial_id: str, **config: object) -> Trial:
    return Trial("run_trial", config=dict(config), trial_id=trial_id, stub=True)


def report(tracker_: SweepTracker, trial_: Trial, epoch: int, **extra: object) -> None:
    result = {"epoch": epoch, "val_loss": 1.0 / epoch, "val_dice": 0.2 * epoch, **extra}
    trial_.update_last_result(result)
    tracker_.on_trial_result(epoch, [], trial_, result)


def test_a_trial_stopped_by_asha_gets_a_complete_closed_child_run(
    store: tuple[MlflowClient, str], tmp_path: Path
) -> None:
    client = store[0]
    parent = parent_run(store, tmp_path)
    t, tr = tracker(store, "asha", parent), trial("t_00001", **{"optimizer.lr": 0.01})
    t.on_trial_start(0, [], tr)
    for epoch in (1, 2):
        report(t, tr, epoch)
    t.on_trial_complete(2, [], tr)

    (run,) = client.search_runs([store[1]], filter_string="tags.`rudratune.sweep` = 'asha'")
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.tags["rudratune.status"] == "stopped by ASHA at epoch 2"
    assert run.data.params == {"model.name": "smp.Unet", "optimizer.lr": "0.01"}  # the api_key is dropped
    history = client.get_metric_history(run.info.run_id, "val_dice")
    assert [(m.step, m.value) for m in history] == [(1, 0.2), (2, 0.4)]


def test_a_failed_trial_and_an_interrupted_one_are_closed(
    store: tuple[MlflowClient, str], tmp_path: Path
) -> None:
    client = store[0]
    t = tracker(store, "fail", parent_run(store, tmp_path))
    failed, running = trial("f_00001"), trial("f_00002")
    for tr in (failed, running):
        t.on_trial_start(0, [], tr)
    report(t, failed, 1)
    t.on_trial_error(1, [], failed)
    t.close_open_runs("KILLED")

    runs = client.search_runs([store[1]], filter_string="tags.`rudratune.sweep` = 'fail'")
    ended = {
        r.data.tags["rudratune.trial_id"]: (r.info.status, r.data.tags["rudratune.status"]) for r in runs
    }
    assert ended == {
        "f_00001": ("FAILED", "failed in epoch 2: unknown error"),
        "f_00002": ("KILLED", "interrupted (KILLED)"),
    }


def test_a_resumed_driver_reopens_the_trials_run(store: tuple[MlflowClient, str], tmp_path: Path) -> None:
    client = store[0]
    parent = parent_run(store, tmp_path)
    first, tr = tracker(store, "resume", parent), trial("r_00001")
    first.on_trial_start(0, [], tr)
    report(first, tr, 1)
    first.close_open_runs("KILLED")

    second = tracker(store, "resume", parent)  # a new driver process: nothing in memory
    second.on_trial_start(0, [], tr)
    report(second, tr, 2)
    second.on_trial_complete(2, [], tr)
    (run,) = client.search_runs([store[1]], filter_string="tags.`rudratune.sweep` = 'resume'")
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [1, 2]


def test_epochs_of_a_lost_life_past_the_trials_end_are_named_on_its_run(
    store: tuple[MlflowClient, str], tmp_path: Path
) -> None:
    """A driver killed before Tune saved: the resumed trial goes on from epoch 1's checkpoint and ASHA stops it
    at epoch 2, while the lost life had logged epoch 3. MLflow keeps epoch 3 (nothing removes a value); the run
    says it is not part of the trial."""
    client = store[0]
    parent = parent_run(store, tmp_path)
    first, tr = tracker(store, "lost", parent), trial("l_00001")
    first.on_trial_start(0, [], tr)
    for epoch in (1, 2, 3):
        report(first, tr, epoch)
    first.close_open_runs("KILLED")

    second = tracker(store, "lost", parent)
    second.on_trial_start(0, [], tr)
    report(second, tr, 2)
    second.on_trial_complete(2, [], tr)
    (run,) = client.search_runs([store[1]], filter_string="tags.`rudratune.sweep` = 'lost'")
    assert run.data.tags[LOST_TAG] == "3"
    assert run.data.tags["rudratune.status"] == "stopped by ASHA at epoch 2"
    assert run.data.metrics["best_epoch"] == 2  # from the trial's own epochs, not the lost one


@pytest.mark.parametrize(("last", "reached", "text"), [(8, 8, ""), (8, 5, ""), (8, 9, "9"), (8, 10, "9-10")])
def test_lost_epochs(last: int, reached: int, text: str) -> None:
    assert lost_epochs(last, reached) == text


def test_a_resumed_trials_wandb_run_is_given_the_epochs_mlflow_holds(
    store: tuple[MlflowClient, str], tmp_path: Path
) -> None:
    """The kill storm: a driver killed with ``kill -9`` loses the W&B records still queued in it, while MLflow's
    store has them. Here the first driver's W&B run is gone altogether; the resumed one holds every epoch."""
    parent = parent_run(store, tmp_path)
    first, tr = tracker(store, "wb", parent), trial("w_00001")
    first.on_trial_start(0, [], tr)
    for epoch in (1, 2):
        report(first, tr, epoch, train_loss=0.5 / epoch)
    first.close_open_runs("KILLED")

    wandb = {"project": "rudratune-test", "mode": "offline", "dir": str(tmp_path)}
    second = tracker(store, "wb", parent, wandb=wandb)
    second.on_trial_start(0, [], tr)
    report(second, tr, 3, train_loss=0.1)
    second.on_trial_complete(3, [], tr)
    (run_file,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    written(run_file)
    rows = [h for h in history(run_file) if "epoch" in h]
    assert [int(h["epoch"]) for h in rows] == [1, 2, 3]
    assert [h["train_loss"] for h in rows] == pytest.approx([0.5, 0.25, 0.1])  # every metric, not only val_*


def test_empty_offline_wandb_runs_are_dropped(tmp_path: Path) -> None:
    for name, content in (("a", b":W&B\xbe\xe1\x00"), ("b", b":W&B\xbe\xe1\x00" + b"record"), ("c", None)):
        folder = tmp_path / f"offline-run-20261207_000000-{name}"
        folder.mkdir()
        if content is not None:
            (folder / f"run-{name}.wandb").write_bytes(content)
    assert drop_empty_offline_runs(tmp_path) == 2  # the header only, and no run file at all
    assert [p.name for p in tmp_path.iterdir()] == ["offline-run-20261207_000000-b"]


def test_find_sweep_run_finds_the_newest_parent_of_that_folder(
    store: tuple[MlflowClient, str], tmp_path: Path
) -> None:
    client, experiment_id = store
    older, newer = parent_run(store, tmp_path / "a"), parent_run(store, tmp_path / "a")
    parent_run(store, tmp_path / "b")
    assert find_sweep_run(client, experiment_id, tmp_path / "a").info.run_id == newer != older
    assert find_sweep_run(client, experiment_id, tmp_path / "nowhere") is None


@pytest.mark.parametrize(
    ("failed", "last", "ending", "reason"),
    [
        (False, {"epoch": 4}, TrialEnding.COMPLETED, "completed 4 epochs"),
        (
            False,
            {"epoch": 2, "early_stopped": True},
            TrialEnding.EARLY_STOPPED,
            "early-stopped (no val_loss progress) at epoch 2",
        ),
        (False, {"epoch": 1}, TrialEnding.STOPPED_BY_ASHA, "stopped by ASHA at epoch 1"),
        (True, {"epoch": 1}, TrialEnding.FAILED, "failed in epoch 2"),
        (True, None, TrialEnding.FAILED, "failed in epoch 1"),
    ],
)
def test_trial_ending(failed: bool, last: dict | None, ending: TrialEnding, reason: str) -> None:
    assert trial_ending(failed, last, 4) is ending
    assert reason_text(trial_ending(failed, last, 4), int((last or {}).get("epoch", 0))) == reason


def test_redaction_hides_credentials_and_secret_keys() -> None:
    assert redact("https://user:pw@mlflow.example:5000/x") == "https://***@mlflow.example:5000/x"
    assert redact("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"
    tree = {
        "tracking": {"mlflow_uri": "http://u:p@host", "WANDB_API_KEY": "k", "token": "t", "experiment": "e"},
        "db": {"password": "p", "passwd": "p", "credentials": "c", "secret_name": "s"},
        "lr": 0.1,
    }
    assert flat_params(tree) == {
        "tracking.mlflow_uri": "http://***@host",
        "tracking.experiment": "e",
        "lr": 0.1,
    }


def test_a_signal_after_tune_returned_closes_the_parent_killed_unless_it_ended(
    store: tuple[MlflowClient, str], tmp_path: Path
) -> None:
    """A SIGTERM while the driver writes the results (seen: every trial had early-stopped before the signal)
    left the parent run RUNNING; the trials' runs still open and the parent are closed KILLED. A parent that
    ended already keeps its status."""
    client = store[0]
    parent = parent_run(store, tmp_path / "cut")
    sweep, running = tracker(store, "late", parent), trial("l_00001")
    sweep.on_trial_start(0, [], running)
    with pytest.raises(KeyboardInterrupt), sweep.closed_on_interrupt():
        raise KeyboardInterrupt
    (child,) = client.search_runs([store[1]], filter_string="tags.`rudratune.sweep` = 'late'")
    assert (child.info.status, child.data.tags["rudratune.status"]) == ("KILLED", "interrupted (KILLED)")
    assert client.get_run(parent).info.status == "KILLED"

    ended = parent_run(store, tmp_path / "ended")
    done = tracker(store, "done", ended)
    with pytest.raises(KeyboardInterrupt), done.closed_on_interrupt():
        done.finish_parent(None, status="FINISHED")
        raise KeyboardInterrupt
    assert client.get_run(ended).info.status == "FINISHED"
