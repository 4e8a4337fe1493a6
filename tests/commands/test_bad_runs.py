"""Issue 12, the cases that need a run: a NaN loss, run folders started in the same second, ASHA's grace
period, ``--address auto`` beside another Ray, a driver killed with ``kill -9``, and a real sweep's storage,
export and second resume."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rudratune.cli import main
from rudratune.commands.common import unique_dir
from tests.helpers import EXPERIMENT, TEST_ENV, TEST_ENV_DROP, files_under, tiny_overrides, tiny_space

TRACKERS_OFF = ["tracking.mlflow=false", "tracking.wandb=false"]


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("rudratune: error: "), lines
    return lines[0].removeprefix("rudratune: error: ")


def test_nan_loss_is_one_line_with_a_1_based_epoch(
    out: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*tiny_overrides(tiny_data), *TRACKERS_OFF, "optimizer.name=SGD", "optimizer.lr=1e12", "-q"]
    code = main(["--output-root", str(out), "train", str(EXPERIMENT), *args])
    message = one_error(capsys)
    assert code == 2
    assert message.startswith(f"{EXPERIMENT}: train loss became nan at epoch 1; the run cannot recover")
    assert "optimizer.lr than 1e+12" in message


def test_run_folders_started_in_the_same_second_differ(tmp_path: Path) -> None:
    first, second = unique_dir(tmp_path, "unet-20261127-120000"), unique_dir(tmp_path, "unet-20261127-120000")
    assert (first.name, second.name) == ("unet-20261127-120000", "unet-20261127-120000-2")


def test_grace_period_beyond_the_epochs_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(
        f"experiment: {EXPERIMENT}\nsearch: {{scheduler: {{grace_period: 9}}}}\nspace:\n"
        "  trainer.max_epochs: {value: 4}\n  data.image_size: {value: 64}\n  model.name: {value: smp.Unet}\n"
        "  model.encoder: {value: resnet18}\n"
    )
    code = main(["--output-root", str(tmp_path / "out"), "run", str(path), "--dry-run", "--samples", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0
    assert err == [
        f"rudratune: warning: {path}: search.scheduler.grace_period (9) is not below the most epochs a trial runs "
        "(4): ASHA can never stop a trial early; lower grace_period or use scheduler fifo"
    ]


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to hand a file to another user")
def test_address_auto_refuses_a_ray_recorded_by_another_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ray").mkdir()
    recorded = tmp_path / "ray" / "ray_current_cluster"
    recorded.write_text("127.0.0.1:6379")
    os.chown(recorded, 65534, 65534)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    space = tmp_path / "space.yaml"
    space.write_text(f"experiment: {EXPERIMENT}\n")
    out = tmp_path / "out"
    start = time.monotonic()
    code = main(["--output-root", str(out), "run", str(space), "--address", "auto"])
    assert code == 2
    assert one_error(capsys).startswith(
        f"--address auto: the Ray recorded in {recorded} (127.0.0.1:6379) belongs to another user; start one"
    )
    assert time.monotonic() - start < 10 and files_under(out) == set()


def test_address_auto_refuses_a_stale_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:9")
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    space = tmp_path / "space.yaml"
    space.write_text(f"experiment: {EXPERIMENT}\n")
    code = main(["--output-root", str(tmp_path / "out"), "run", str(space), "--address", "auto"])
    assert code == 2
    assert "(127.0.0.1:9) no longer runs; start one with `ray start --head`" in one_error(capsys)
    assert files_under(tmp_path / "out") == set()


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A short RAY_TMPDIR: Ray's socket paths must fit in 107 bytes, pytest's tmp_path does not."""
    path = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def env(ray_tmp: Path) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    return {**full, **TEST_ENV, "RAY_TMPDIR": str(ray_tmp)}


DRIVER = """
import sys, time
from rudratune.search.placement import init_ray
init_ray(None)
print("ready", flush=True)
time.sleep(300)
"""


def start_driver(ray_tmp: Path) -> subprocess.Popen:
    """A process that starts its own local Ray, like a sweep's driver, and waits."""
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env(ray_tmp),
        start_new_session=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def session_processes(driver_pid: int) -> list[int]:
    """The driver's descendants: its Ray (GCS, raylet, agents, workers) and the watchdog."""
    from rudratune.search.placement.watchdog import descendants

    return sorted(descendants(driver_pid))


@pytest.mark.slow
def test_address_auto_never_joins_another_sweeps_ray(tmp_path: Path, ray_tmp: Path) -> None:
    driver = start_driver(ray_tmp)
    try:
        space = tmp_path / "space.yaml"
        space.write_text(f"experiment: {EXPERIMENT}\n")
        start = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "rudratune",
                "--output-root",
                str(tmp_path / "out"),
                "run",
                str(space),
                "--address",
                "auto",
            ],
            capture_output=True,
            text=True,
            env=env(ray_tmp),
            timeout=120,
        )
        took = time.monotonic() - start
    finally:
        os.killpg(driver.pid, signal.SIGTERM)
        driver.wait()
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "belong to other sweeps or users (none was started with `ray start`)" in lines[0]
    assert took < 20  # Ray's own "auto" would join that Ray, or retry for ever
    assert files_under(tmp_path / "out") == set()


@pytest.mark.slow
def test_local_ray_does_not_outlive_a_killed_driver(ray_tmp: Path) -> None:
    driver = start_driver(ray_tmp)
    time.sleep(2)  # the watchdog looks every second
    started = session_processes(driver.pid)
    agents = [p for p in started if "Agent" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
    assert len(agents) >= 2, started  # the dashboard and runtime-env agents that used to survive
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in started):
        time.sleep(0.5)
    left = [p for p in started if Path(f"/proc/{p}").exists()]
    assert left == [], [Path(f"/proc/{p}/cmdline").read_text(errors="replace") for p in left]


@pytest.mark.slow
def test_relative_storage_export_and_second_resume(tmp_path: Path, tiny_data: Path, ray_tmp: Path) -> None:
    space = tiny_space(tmp_path, tiny_data, num_samples=1, epochs=1, log_models=False)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rudratune", "--output-root", "runs", *args],
            capture_output=True,
            text=True,
            env=env(ray_tmp),
            timeout=600,
            cwd=tmp_path,
        )

    ran = cli(
        "run",
        str(space),
        "--name",
        "s",
        "--storage",
        "rel_store",
        "--no-report",
        "tracking.mlflow=false",
        "tracking.wandb=false",
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert (tmp_path / "rel_store" / "s").is_dir()  # Ray's experiment, under the relative storage
    run_dir = tmp_path / "runs" / "s"

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("keep: me\n")
    refused = cli("export", str(run_dir), "-o", str(recipe))
    assert refused.returncode == 2 and "already exists; pass --force" in refused.stderr
    assert recipe.read_text() == "keep: me\n"
    assert cli("export", str(run_dir), "-o", str(run_dir / "results.csv"), "--force").returncode == 2
    assert cli("export", str(run_dir), "-o", str(recipe), "--force").returncode == 0
    assert "provenance" in recipe.read_text()

    before = {p: p.stat().st_mtime_ns for p in files_under(run_dir) if p.is_file()}
    again = cli("resume", str(run_dir))
    assert again.returncode == 2
    assert again.stderr.strip().startswith(f"rudratune: error: {run_dir}: sweep s finished at ")
    assert len(again.stderr.strip().splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in files_under(run_dir) if p.is_file()} == before
