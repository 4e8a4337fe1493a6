"""Faults around ``rudratune train`` (issue 21): stop signals and a full disk, with real subprocesses, real
signals, a real sqlite MLflow store, offline W&B files and a real full filesystem."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import (
    EXPERIMENT,
    REPO,
    TEST_ENV,
    TEST_ENV_DROP,
    cli,
    files_under,
    records,
    run_file,
    tiny_overrides,
)

LONG = ["trainer.max_epochs=500", "trainer.early_stopping_patience=500", "-q"]


def start_train(out: Path, data: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP} | TEST_ENV
    command = [sys.executable, "-m", "rudratune", "--output-root", str(out), "train", str(EXPERIMENT)]
    return subprocess.Popen(
        [*command, *tiny_overrides(data), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def wait_for_checkpoint(out: Path, process: subprocess.Popen[str], timeout: float = 300) -> None:
    """Until the first epoch's checkpoint exists: training has started, and both tracker runs are open."""
    deadline = time.monotonic() + timeout
    while not list(out.glob("train/*/checkpoints/*.ckpt")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint after {timeout} s"
        time.sleep(0.1)


def only_run(out: Path) -> object:
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("rudratune").experiment_id])
    return run


def wandb_exit_code(out: Path) -> int:
    (run_dir,) = (out / "train").iterdir()
    path = run_file(next((run_dir / "wandb").glob("offline-run-*")))
    exits = [r.exit for r in records(path) if r.WhichOneof("record_type") == "exit"]
    assert exits, f"{path}: the W&B run was never finished"
    return exits[-1].exit_code


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
def test_train_stopped_by_a_signal_closes_its_runs_killed(
    signum: int, code: int, tiny_data: Path, out: Path
) -> None:
    """SIGTERM left the MLflow run RUNNING for ever; Ctrl-C exited 1 with no line and MLflow said FAILED."""
    process = start_train(out, tiny_data, *LONG)
    wait_for_checkpoint(out, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    (run_dir,) = (out / "train").iterdir()
    name = signal.Signals(signum).name
    assert process.returncode == code, err
    assert err.strip().splitlines() == [
        f"rudratune: stopped by {name}; its tracker runs are closed KILLED; partial outputs: {run_dir}"
    ]
    assert only_run(out).info.status == "KILLED"
    assert wandb_exit_code(out) != 0  # finished, as not successful
    assert not list(out.glob(".rudratune-reserve-*"))


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 20 MiB tmpfs: smaller than one checkpoint of the tiny Unet-resnet18 (about 19 MiB) plus the rest."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:  # root in a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.slow
def test_train_on_a_full_disk_says_so_in_one_line(tiny_data: Path, full_disk: Path) -> None:
    """Printed 783 lines of traceback and left the MLflow run RUNNING."""
    out = full_disk / "runs"
    process = start_train(out, tiny_data, "trainer.max_epochs=3")
    _, err = process.communicate(timeout=300)
    (run_dir,) = (out / "train").iterdir()
    assert process.returncode == 2, err
    assert err.strip().splitlines() == [
        f"rudratune: error: --output-root: {out}: no space left on device while training; its tracker runs "
        f"are closed FAILED; free space and run again (partial outputs: {run_dir})"
    ]
    assert only_run(out).info.status == "FAILED"
    assert wandb_exit_code(out) != 0
    assert not list(out.glob(".rudratune-reserve-*"))
    assert shutil.disk_usage(full_disk).free > 10 << 20  # the checkpoint cut short was removed


@pytest.mark.slow
def test_train_on_a_disk_already_full_is_refused_before_training(tiny_data: Path, full_disk: Path) -> None:
    (full_disk / "filler").write_bytes(bytes(shutil.disk_usage(full_disk).free - (1 << 20)))
    out = full_disk / "runs"
    process = start_train(out, tiny_data, "trainer.max_epochs=1")
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err
    assert err.strip().splitlines() == [
        f"rudratune: error: --output-root: {out}: no space left on device; free space and run again"
    ]
    assert not (out / "train").exists() and not (out / "mlflow.db").exists()


SECRET_KEYS = ("passphrase", "pwd", "signing_key", "private_key", "credentials", "cookie", "session")


@pytest.mark.slow
def test_planted_secrets_reach_no_file(tiny_data: Path, out: Path, tmp_path: Path) -> None:
    """``+provenance.passphrase``, ``pwd`` and ``signing_key`` were logged verbatim to MLflow and W&B. Every
    file the run leaves (the sqlite store as bytes, W&B's offline files and logs, the temp dir) is read."""
    planted = {key: f"planted-{key}-{uuid.uuid4().hex}" for key in SECRET_KEYS}
    env_secret = f"planted-env-{uuid.uuid4().hex}"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"AWS_SECRET_ACCESS_KEY": env_secret, "TMPDIR": str(tmp), "HOME": str(tmp_path)}
    overrides = [f"+provenance.{key}={value}" for key, value in planted.items()]
    result = cli(
        "--output-root",
        str(out),
        "train",
        str(EXPERIMENT),
        *tiny_overrides(tiny_data),
        *overrides,
        "-q",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    files = [p for p in [*files_under(out), *files_under(tmp)] if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files) and any(p.suffix == ".wandb" for p in files)
    for secret in [*planted.values(), env_secret]:
        holding = [p for p in files if secret.encode() in p.read_bytes()]
        assert not holding, f"{secret} in {holding}"
    assert only_run(out).data.params["model.name"] == "smp.Unet"  # the rest is still logged
