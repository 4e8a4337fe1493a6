"""The kill storm (issue 21 item 2): one sweep takes 10+ SIGKILLs of its trial workers and 3 of its driver,
each driver kill followed by ``rudratune resume``, and ends with every record agreeing: results.csv, MLflow,
the offline W&B runs and the Optuna study; nothing RUNNING, no process left, the temp dir as it was."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from rudratune.search import load_study
from rudratune.search.driver.tracker import LOST_TAG
from tests.helpers import REPO, TEST_ENV, TEST_ENV_DROP, history, mlflow_runs, read_rows, records, tiny_space

pytestmark = pytest.mark.slow

WORKER_KILLS = 12  # 4 in each of the 3 driver lives before the last
DRIVER_KILLS = 3
TRIALS = 14  # of 16 epochs, the first rung at 8: more work than the storm takes, whatever ASHA stops


def sweep_pids(tmp: Path) -> list[int]:
    """Every process of the sweep: those that inherited the test's private TMPDIR (the driver, Ray's own, the
    trial workers, W&B's service)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(v.startswith(b"TMPDIR=" + bytes(tmp)) for v in environ):
            pids.append(int(proc.name))
    return pids


def trial_workers(tmp: Path) -> list[int]:
    """The sweep's trial workers: Ray's actors that run ``run_trial`` (their title is ``ray::ImplicitFunc...``)."""
    found = []
    for pid in sweep_pids(tmp):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::ImplicitFunc"):
            found.append(pid)
    return found


def reports(run_dir: Path) -> int:
    """Results Tune has written so far, over all trials (each a line of a result.json)."""
    return sum(p.read_bytes().count(b"\n") for p in run_dir.glob("run_trial_*/result.json"))


def lost_span(tag: str, last: int) -> set[int]:
    """The epochs a ``rudratune.lost_epochs`` tag names (``"9-10"``, ``"9"``): they follow the trial's end."""
    if not tag:
        return set()
    first, _, end = tag.partition("-")
    span = set(range(int(first), int(end or first) + 1))
    assert int(first) == last + 1, (tag, last)
    return span


def gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() for p in pids):
            return True
        time.sleep(0.5)
    return False


@pytest.fixture
def tmp() -> Iterator[Path]:
    """The sweep's system temp dir: short, as Ray's socket names must fit (a long one moves Ray to /tmp)."""
    path = Path(tempfile.mkdtemp(prefix="storm-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_kill_storm_loses_and_duplicates_nothing(tmp_path: Path, tiny_data: Path, tmp: Path) -> None:
    rng = random.Random(21)
    out = tmp_path / "runs"
    out.mkdir()
    run_dir = out / "storm"
    space = tiny_space(tmp_path, tiny_data, num_samples=TRIALS, epochs=16, grace_period=8, log_models=False)
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    env.update({**TEST_ENV, "TMPDIR": str(tmp)})
    base = [sys.executable, "-m", "rudratune", "--output-root", str(out)]
    first = [*base, "run", str(space), "--name", "storm", "--no-report", "--max-failures", "3"]
    logs = []

    def start(command: list[str]) -> subprocess.Popen:
        log = (tmp_path / f"driver-{len(logs)}.log").open("w")
        logs.append(log.name)
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    kills: list[str] = []

    def tail() -> str:
        return (
            "\n".join(kills)
            + "\n"
            + "\n".join(f"--- {name}\n{Path(name).read_text()[-2500:]}" for name in logs)
        )

    driver = start(first)
    worker_kills = driver_kills = 0
    deadline = time.monotonic() + 900
    while driver_kills < DRIVER_KILLS:
        for _ in range(WORKER_KILLS // DRIVER_KILLS):  # a worker dies after some trial has reported again
            seen = reports(run_dir)
            while time.monotonic() < deadline and driver.poll() is None:
                workers = trial_workers(tmp)
                if workers and reports(run_dir) > seen:
                    victim = rng.choice(workers)
                    os.kill(victim, signal.SIGKILL)
                    worker_kills += 1
                    kills.append(f"{time.strftime('%T')} worker {victim} (driver life {driver_kills + 1})")
                    break
                time.sleep(0.2)
            assert driver.poll() is None, "the sweep ended before the storm did\n" + tail()
        # the driver dies once a trial has reported again: Tune may not have saved since (then what it ran
        # after its last save runs again)
        seen = reports(run_dir)
        while time.monotonic() < deadline and driver.poll() is None and reports(run_dir) <= seen:
            time.sleep(0.2)
        assert driver.poll() is None, "the sweep ended before the storm did\n" + tail()
        left = sweep_pids(tmp)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        driver_kills += 1
        kills.append(f"{time.strftime('%T')} driver {driver.pid}")
        assert gone(left, within=30), f"left after the driver's kill: {left}\n" + tail()  # the watchdog's job
        driver = start([*base, "resume", str(run_dir), "--no-report"])
    assert driver.wait(timeout=max(deadline - time.monotonic(), 1)) == 0, tail()
    assert worker_kills >= 10 and driver_kills == 3

    # every trial once, each ended: a row, a trial id and a configuration each
    rows = read_rows(run_dir)
    assert len(rows) == TRIALS, tail()
    assert len({r["trial_id"] for r in rows}) == len({r["optimizer.lr"] for r in rows}) == TRIALS
    assert all(r["status"] in ("TERMINATED", "ERROR") for r in rows)
    epochs = {r["trial_id"]: set(range(1, int(r["epochs"] or 0) + 1)) for r in rows}

    # a trial killed after a checkpoint went on from it: a worker's first result (Tune's count of results
    # since the restore is 1) that is not epoch 1. Not "the epochs go back": a kill right after a checkpoint
    # goes on at the next epoch, and the storm's timing decides which it was
    restarts = []
    for result_json in run_dir.glob("run_trial_*/result.json"):
        results = [json.loads(line) for line in result_json.read_text().splitlines() if line]
        restarts += [int(r["epoch"]) for r in results if r.get("iterations_since_restore") == 1]
    assert any(epoch > 1 for epoch in restarts), restarts

    # MLflow: one run a trial, the epochs of results.csv, each step's values agreeing with Ray's last report
    parents, children = mlflow_runs(out)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    by_trial = Counter(c.data.tags["rudratune.trial_id"] for c in children)
    assert max(by_trial.values()) == 1, by_trial  # resumed or retried, a trial keeps its one run
    assert not [r.info.run_id for r in parents + children if r.info.status == "RUNNING"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    runs = {c.data.tags["rudratune.trial_id"]: c for c in children}
    # a lost life (the driver killed before Tune saved) may have gone further than the trial's end: the run
    # says which epochs (ASHA stopped the resumed trial at a rung the lost life had passed)
    lost = {t: lost_span(c.data.tags.get(LOST_TAG, ""), max(epochs.get(t) or {0})) for t, c in runs.items()}
    for r in rows:  # an errored trial's earlier life may have gone further than its last
        steps = {m.step for m in client.get_metric_history(runs[r["trial_id"]].info.run_id, "val_loss")}
        want = epochs[r["trial_id"]] | lost[r["trial_id"]]
        assert steps == want if r["status"] == "TERMINATED" else steps >= want, (
            r["trial_id"],
            sorted(steps),
            sorted(want),
        )
        assert runs[r["trial_id"]].info.status == ("FINISHED" if r["status"] == "TERMINATED" else "FAILED")
    # a trial Tune started after its last save is unknown to the resumed sweep: its run stays, KILLED
    assert all(c.info.status == "KILLED" for t, c in runs.items() if t not in epochs)

    # W&B: every epoch of every trial in its offline runs (a killed driver's unflushed ones logged again on
    # resume; W&B's sync keeps a step once), and no empty run left by a kill
    logged: dict[str, set[int]] = {}
    for run_file in (run_dir / "wandb").glob("offline-run-*/run-*.wandb"):
        assert records(run_file), f"{run_file} holds no record"
        trial_id = run_file.parent.name.rsplit("-", 1)[-1]
        logged.setdefault(trial_id, set()).update(int(h["epoch"]) for h in history(run_file) if "epoch" in h)
    for r in rows:
        got, want = logged.get(r["trial_id"], set()), epochs[r["trial_id"]] | lost[r["trial_id"]]
        assert got == want if r["status"] == "TERMINATED" else got >= want, (r["trial_id"], sorted(got), want)

    # Optuna: each Ray trial once, its epochs as intermediate values, nothing RUNNING
    study = load_study(run_dir)
    told = Counter(t.user_attrs.get("ray_trial_id") for t in study.trials)
    assert max(told.values()) == 1, told
    assert not [t.number for t in study.trials if t.state.name == "RUNNING"]
    for t in study.trials:
        trial_id = t.user_attrs.get("ray_trial_id")
        if trial_id in epochs and t.state.name != "FAIL":
            assert set(t.intermediate_values) == epochs[trial_id], (trial_id, t.intermediate_values)
        elif trial_id not in epochs:
            assert t.state.name == "FAIL"  # lost with a killed driver, as in MLflow

    # nothing left running, and the temp dir as it was found (empty): no Ray session, W&B temp folder,
    # checkpoint copy or lock file
    assert gone(sweep_pids(tmp), within=30), sweep_pids(tmp)
    assert sorted(p.name for p in tmp.iterdir()) == []
