"""Issue 21, the driver's faults with a real sweep: SIGTERM, a sweep killed before Tune started, a moved or
copied output root, data changed before a resume."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from rudratune.search import load_study
from tests.helpers import REPO, TEST_ENV, TEST_ENV_DROP, cli, mlflow_runs, read_rows, tiny_space

pytestmark = pytest.mark.slow


def start(out: Path, space: Path, name: str, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rudratune",
            "--output-root",
            str(out),
            "run",
            str(space),
            "--name",
            name,
            "--no-report",
            *extra,
        ],
        cwd=REPO,
        env={**env, **TEST_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(
    proc: subprocess.Popen | None, found: Callable[[], bool], what: str, timeout: float = 400
) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        if proc is not None and proc.poll() is not None:
            stdout, stderr = proc.communicate()
            pytest.fail(
                f"the driver exited {proc.returncode} before {what}: {stdout[-2000:]} {stderr[-3000:]}"
            )
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def reported(run_dir: Path) -> bool:
    return any(p.stat().st_size > 0 for p in run_dir.glob("run_trial_*/result.json"))


def test_sigterm_during_training_is_a_ctrl_c(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    # no trial may end on its own before Tune stops it, or its run is rightly FINISHED, not KILLED: 300 epochs
    # (30, about 10 s, ended one on a loaded machine), ASHA's first rung at the last epoch (at epoch 1, the
    # two trials' first reports came in before the signal, and ASHA stopped one, in CI and 1 of 2 runs here),
    # and no early stopping (patience 10 ended a trial at epoch 24 before the signal: 4 of 14 runs under load)
    space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=300, grace_period=300, log_models=False)
    proc = start(out, space, "term", "trainer.early_stopping_patience=300")
    run_dir = out / "term"
    wait_for(proc, lambda: reported(run_dir), "a trial's first report")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert f"continue with: rudratune resume {run_dir}" in stderr
    assert "Fatal Python error" not in stderr and "Traceback" not in stderr, stderr[-3000:]
    parents, children = mlflow_runs(out)
    said = stderr[-3000:]  # the driver's warnings (a tracker outage) say why a run was left open
    assert [p.info.status for p in parents] == ["KILLED"], said
    assert children and all(c.info.status == "KILLED" for c in children), (
        [(c.info.status, c.data.tags.get("rudratune.status")) for c in children],
        said,
    )
    assert (run_dir / "tuner.pkl").is_file()  # Tune saved its state: resumable


def test_sigterm_before_tune_then_resume_starts_afresh(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    """SIGTERM while the data is decoded or Ray starts: the sweep folder holds only its record (no Tune state),
    which ``resume`` starts afresh; the data must not have changed meanwhile."""
    space = tiny_space(tmp_path, tiny_data, num_samples=1, epochs=1, log_models=False)
    proc = start(out, space, "early")
    run_dir = out / "early"
    wait_for(proc, lambda: (run_dir / "sweep.json").is_file(), "sweep.json")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == f"sweep interrupted; continue with: rudratune resume {run_dir}"
    assert not (run_dir / "tuner.pkl").exists()

    # the same name is taken: run refuses it in one line, before Ray starts
    again = cli("--output-root", str(out), "run", str(space), "--name", "early", "--no-report")
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr
    assert "already exists; choose another name or `rudratune resume" in again.stderr

    resumed = cli("--output-root", str(out), "resume", str(run_dir), "--no-report")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "never reached its first trial (no Tune state yet): starting it afresh" in resumed.stdout
    assert len(read_rows(run_dir)) == 1


def test_moved_and_copied_output_roots_resume_in_place(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    """sweep.json's paths are relative to the sweep folder: a copy resumes itself (its own study, its own MLflow
    parent run) and leaves the original alone; a moved root resumes and finds its MLflow parent run."""
    space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=3, max_concurrent=1, log_models=False)
    proc = start(out, space, "mv")
    run_dir = out / "mv"
    wait_for(proc, lambda: reported(run_dir), "a trial's first report")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    original = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    resumed = cli("--output-root", str(copy), "resume", str(copy / "mv"), "--no-report")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == original
    assert len(read_rows(copy / "mv")) == 2
    parents, _ = mlflow_runs(copy)
    assert sorted(p.data.tags["rudratune.run_dir"] for p in parents) == sorted(
        [str(run_dir.resolve()), str((copy / "mv").resolve())]
    )  # the copy's own parent run beside the original's (copied with mlflow.db)

    moved = tmp_path / "moved"
    out.rename(moved)
    resumed = cli("--output-root", str(moved), "resume", str(moved / "mv"), "--no-report")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    assert not out.exists()  # nothing written where the sweep used to be
    assert len(read_rows(moved / "mv")) == 2
    parents, _ = mlflow_runs(moved)
    assert [p.data.tags["rudratune.run_dir"] for p in parents] == [str((moved / "mv").resolve())]
    assert [p.info.status for p in parents] == ["FINISHED"]


PLANTED = {
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDKEY0000001",
    "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-6c1f0e",
    "MY_SERVICE_API_KEY": "planted-api-key-93b2aa",
}
OVERRIDE_SECRET = "planted-override-token-51d7"


def holding(root: Path, secrets: list[str]) -> list[str]:
    """Every file under ``root`` (sqlite dbs, journals, Ray's logs, W&B files) that holds one of ``secrets``."""
    found = []
    for folder, _, names in os.walk(root):  # not rglob: a live sweep removes folders while they are walked
        for path in (Path(folder) / name for name in names):
            try:
                data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            except OSError:
                continue
            found += [f"{path}: {s}" for s in secrets if s.encode() in data]
    return found


def command_lines_holding(secrets: list[str], *, besides: int) -> list[str]:
    """Processes other than ``besides`` (the command the user typed, which holds its own overrides) whose
    command line holds a secret."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            mine = entry.name.isdigit() and int(entry.name) != besides
            line = (entry / "cmdline").read_bytes() if mine else b""
        except OSError:
            continue
        found += [f"pid {entry.name}: {s}" for s in secrets if s.encode() in line]
    return found


def test_secrets_stay_out_of_rays_logs_and_command_lines(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    """Credentials in the environment and a secret override: in no file under the output root or the temp dir
    (Ray's session logs included, which survive a driver killed mid-sweep) and in no command line; Ray's
    session folder is private."""
    space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=30, log_models=False)
    tmp = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rudratune",
            "--output-root",
            str(out),
            "run",
            str(space),
            "--name",
            "sec",
            "--no-report",
            f"+provenance.api_token={OVERRIDE_SECRET}",
        ],
        cwd=REPO,
        env={**env, **TEST_ENV, **PLANTED, "TMPDIR": str(tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    secrets = [*PLANTED.values(), OVERRIDE_SECRET]
    try:
        wait_for(proc, lambda: reported(out / "sec"), "a trial's first report")
        assert command_lines_holding(secrets, besides=proc.pid) == []
        (session,) = [p for p in tmp.iterdir() if p.name.startswith("rudratune-ray-")]
        assert session.stat().st_mode & 0o777 == 0o700
        assert list(session.rglob("runtime_env_agent.log"))  # Ray's logs are there to be read
        assert holding(tmp, secrets) == []  # while it runs: Ray's logs, W&B's and the trials' temp files
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray: what a kill leaves is read below
        proc.wait()
    wait_for(None, lambda: not session.exists(), "the watchdog to remove Ray's session folder", timeout=60)
    try:
        assert holding(tmp, secrets) == []
        assert holding(out, secrets) == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_mlflow_server_down_mid_sweep_is_one_warning(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    """A real ``mlflow server`` on 127.0.0.1, killed once a trial reported: the sweep ends normally, says so in
    one warning line, and keeps every result on disk."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:  # it answers /health after about 9 s (more on a busy machine)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "mlflow server did not start"
                time.sleep(0.5)
        space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=3, max_concurrent=1, log_models=False)
        env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rudratune",
                "--output-root",
                str(out),
                "run",
                str(space),
                "--name",
                "down",
                "--no-report",
                f"tracking.mlflow_uri=http://127.0.0.1:{port}",
            ],
            cwd=REPO,
            env={
                **env,
                **TEST_ENV,
                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        wait_for(proc, lambda: reported(out / "down"), "a trial's first report")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    warnings = [line for line in stderr.splitlines() if "MLflow failed" in line]
    assert len(warnings) == 1, stderr[-3000:]
    assert warnings[0].startswith("rudratune: warning: MLflow failed (")
    assert "the sweep goes on without MLflow" in warnings[0] and "Traceback" not in stderr
    rows = read_rows(out / "down")
    assert len(rows) == 2 and all(r["status"] == "TERMINATED" for r in rows)


def test_a_full_disk_is_one_line_and_resumable(tmp_path: Path, tiny_data: Path) -> None:
    """The output root on a 30 MB tmpfs, filled but for a few MB: the sweep ends with one line (exit 1 or 2),
    resumes once space is freed, and then no tracker run is RUNNING."""
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()[:200]}")
    try:
        out = small / "runs"
        out.mkdir()
        filler = small / "filler"
        free = shutil.disk_usage(small).free
        with filler.open("wb") as f:
            f.write(b"\0" * (free - 3 * 2**20))
        space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=3, max_concurrent=1, log_models=False)
        full = cli("--output-root", str(out), "run", str(space), "--name", "full", "--no-report")
        errors = [line for line in full.stderr.splitlines() if line.startswith("rudratune: error:")]
        assert full.returncode in (1, 2), full.stdout[-2000:] + full.stderr[-3000:]
        assert len(errors) == 1 and "Traceback" not in full.stderr, full.stderr[-3000:]
        assert "no space left on device" in errors[0].lower() and "rudratune resume" in errors[0]
        filler.unlink()  # space freed: and more of it, as a trial's checkpoints alone (Adam state) pass 30 MB
        subprocess.run(["mount", "-o", "remount,size=300m", str(small)], check=True)
        resumed = cli("--output-root", str(out), "resume", str(out / "full"), "--no-report")
        assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
        # the first run's last copy of Tune's state was cut short: the resume says it used the kept one
        cut = [line for line in resumed.stdout.splitlines() if "was cut short" in line]
        assert len(cut) <= 1 and "Traceback" not in resumed.stderr, resumed.stdout[-2000:]
        assert len(read_rows(out / "full")) == 2
        # a store on the full disk cannot record a run's end; the resume closes what the full disk left open
        parents, children = mlflow_runs(out)
        assert not [r for r in parents + children if r.info.status == "RUNNING"]
        study = load_study(out / "full")
        assert not [t for t in study.trials if t.state.name == "RUNNING"], [t.state for t in study.trials]
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)
