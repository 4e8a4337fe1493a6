"""Tracker inputs of issue 12 (docs/bad-inputs.md, "Trackers, credentials and leftovers"): one line, exit 2,
nothing written; credentials never reach the disk; a deleted MLflow experiment comes back."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from rudratune.cli import main
from rudratune.tracking.common import ensure_mlflow_experiment, mlflow_uri, redact_tree
from tests.helpers import EXPERIMENT, REPO, cli, files_under, tiny_overrides

SPACE = "experiment: {experiment}\nsearch: {{num_samples: 1}}\nspace: {{}}\n"


def _bad(args: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    before = files_under(out)
    code = main(["--output-root", str(out), *args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("rudratune: error: "), err
    assert files_under(out) == before  # nothing written: no run folder, no mlflow.db
    return lines[0]


def test_credentials_in_an_unreachable_uri_are_not_shown(
    tiny_data: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _bad(
        [
            "train",
            str(EXPERIMENT),
            f"data.root={tiny_data}",
            "tracking.mlflow_uri=http://alice:pw42@127.0.0.1:9",
        ],
        out,
        capsys,
    )
    assert "tracking.mlflow_uri: cannot reach MLflow at http://127.0.0.1:9 (" in line and "pw42" not in line


def test_the_error_names_the_environment_when_the_uri_came_from_there(
    tiny_data: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    line = _bad(["train", str(EXPERIMENT), f"data.root={tiny_data}"], out, capsys)
    assert "rudratune: error: $MLFLOW_TRACKING_URI: cannot reach MLflow at http://127.0.0.1:9 (" in line


def test_a_malformed_address_fails_before_anything_is_written(
    tmp_path: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(experiment=EXPERIMENT))
    started = time.monotonic()
    line = _bad(["run", str(space), "--address", "localhost:abc"], out, capsys)
    assert line == "rudratune: error: --address: 'localhost:abc' is not auto, host:port or ray://host:port"
    assert time.monotonic() - started < 20  # not Ray's 28 s of retries


def test_a_deleted_experiment_is_restored_with_one_warning(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{out / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    first = client.create_experiment("gone")
    client.delete_experiment(first)
    assert ensure_mlflow_experiment(uri, "gone", out) == first
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"rudratune: warning: tracking.experiment: MLflow experiment 'gone' was deleted; restored it (id {first})"
    ]
    assert client.get_experiment(first).lifecycle_stage == "active"


def test_credentials_in_the_uri_move_to_the_environment(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    from rudratune.config.schema import TrackingConfig

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    uri = mlflow_uri(TrackingConfig(mlflow_uri="https://alice:s3cr%2Ft@mlflow.example:8443/x"), out)
    assert uri == "https://mlflow.example:8443/x"
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "alice"
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "s3cr%2Ft"


def test_sweep_record_keeps_no_credentials(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    from rudratune.search.record import record_for
    from rudratune.search.space import load_sweep

    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(experiment=EXPERIMENT))
    sweep = load_sweep(
        space,
        [
            "tracking.mlflow_uri=http://alice:PW-1@host:5000",
            "+provenance.api_key=KEY-2",
            f"data.root={tiny_data}",
        ],
    )
    run_dir = out / "s"
    run_dir.mkdir()
    record = record_for(run_dir, sweep, storage="s3://AKIA:SECRET-3@bucket/x", output_root=out)
    record.save()
    text = (run_dir / "sweep.json").read_text()
    for secret in ("PW-1", "KEY-2", "SECRET-3"):
        assert secret not in text
    saved = json.loads(text)
    assert saved["base"]["tracking"]["mlflow_uri"] == "http://***@host:5000"
    assert saved["experiment_path"] == "s3://***@bucket/x/s"
    assert redact_tree({"a": {"token": "x", "u": ["ftp://u:p@h"]}}) == {
        "a": {"token": "***", "u": ["ftp://***@h"]}
    }


def test_authorization_values_and_keys_are_secrets() -> None:
    """``+provenance.auth='Bearer …'`` reached MLflow params and the W&B run file: neither the key nor the
    value matched the old pattern. ``author`` and a plain word stay."""
    from rudratune.tracking.common import flat_params

    tree = {
        "p": {
            "auth": "x",
            "creds": {"user": "u"},
            "note": "Bearer abc",
            "aws_access_key": "k",
            "author": "me",
        }
    }
    assert flat_params(tree) == {"p.author": "me"}
    assert redact_tree(tree) == {
        "p": {"auth": "***", "creds": "***", "note": "***", "aws_access_key": "***", "author": "me"}
    }
    assert flat_params({"mode": "basic", "w_type": "simple"}) == {"mode": "basic", "w_type": "simple"}


def test_resume_refuses_a_storage_uri_whose_credentials_were_redacted(
    tmp_path: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rudratune.search.record import record_for
    from rudratune.search.space import load_sweep

    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(experiment=EXPERIMENT))
    run_dir = out / "s"
    run_dir.mkdir()
    record_for(run_dir, load_sweep(space), storage="s3://AKIA:SECRET@bucket/x", output_root=out).save()
    line = _bad(["resume", str(run_dir)], out, capsys)
    assert line == (
        f"rudratune: error: {run_dir}: the sweep's storage URI held credentials, which sweep.json does not keep "
        "(s3://***@bucket/x/s); give them in the environment (e.g. AWS_ACCESS_KEY_ID) instead"
    )


def test_tracker_cases_are_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    section = doc.split("## Trackers, credentials and leftovers")[1]
    for item in ("12.6", "12.7", "12.8", "12.21", "12.24", "12.25", "12.26", "12.27"):
        assert f"({item})" in section, item


@pytest.mark.slow
def test_runs_opened_before_a_crash_end_failed(tiny_data: Path, out: Path) -> None:
    """12.24: W&B fails to open its run after MLflow's run exists (online, no API key): the MLflow run ends
    FAILED, not RUNNING."""
    args = [*tiny_overrides(tiny_data), "trainer.max_epochs=1", "tracking.wandb_mode=online"]
    result = cli("--output-root", str(out), "train", str(EXPERIMENT), *args)
    assert result.returncode != 0
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("rudratune").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_an_authenticated_mlflow_server(
    tmp_path: Path, tiny_data: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ``mlflow server --app-name basic-auth``: user:pass@ in the URI works and leaves no password on
    disk; a wrong password is one line, exit 2, before anything is written."""
    port = _free_port()
    ini = tmp_path / "auth.ini"
    ini.write_text(
        f"[mlflow]\ndefault_permission = EDIT\ndatabase_uri = sqlite:///{tmp_path / 'auth.db'}\n"
        "admin_username = admin\nadmin_password = Adm1n-Passw0rd-42\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # MLflow 3's basic-auth app refuses to start without a static key for its CSRF protection
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "rudratune-test-only",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--app-name",
            "basic-auth",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--default-artifact-root",
            str(tmp_path / "server-artifacts"),
            "--workers",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(
                f"the MLflow server did not come up:\n{(tmp_path / 'server.log').read_text()[-2000:]}"
            )
        base = ["--output-root", str(out), "train", str(EXPERIMENT), *tiny_overrides(tiny_data)]
        wrong = cli(*base, f"tracking.mlflow_uri=http://admin:nope@127.0.0.1:{port}")
        assert wrong.returncode == 2, wrong.stderr
        assert wrong.stderr.strip().splitlines() == [
            f"rudratune: error: tracking.mlflow_uri: MLflow at http://127.0.0.1:{port} refused the credentials; "
            "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or user:password@ in the URI)"
        ]
        assert not files_under(out)
        good = cli(
            *base,
            "trainer.max_epochs=1",
            "tracking.wandb=false",
            f"tracking.mlflow_uri=http://admin:Adm1n-Passw0rd-42@127.0.0.1:{port}",
        )
        assert good.returncode == 0, good.stderr
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "Adm1n-Passw0rd-42")
        client = MlflowClient(tracking_uri=f"http://127.0.0.1:{port}")
        (run,) = client.search_runs([client.get_experiment_by_name("rudratune").experiment_id])
        assert run.info.status == "FINISHED"
        for path in files_under(out):
            assert not path.is_file() or b"Adm1n-Passw0rd-42" not in path.read_bytes(), path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
