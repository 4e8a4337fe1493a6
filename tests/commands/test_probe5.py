"""Issue 21 item 5, our own probe: damaged source files, hostile checkpoints, moved and copied folders, stop
signals, full disks and secrets met by ``predict``, ``export``, ``report`` and ``data synth``
(docs/bad-inputs.md, "Issue 21 item 5: our own probe").

The fast tests fabricate a train run folder (a real network's weights, config.yaml, decoding.json) instead
of training one; the slow ones run one tiny real sweep."""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from rudratune.cli import main
from rudratune.commands.train import write_config
from rudratune.config.load import apply_overrides, read_yaml, validate_model
from rudratune.config.schema import ExperimentConfig
from rudratune.data.preprocess import Decoding
from rudratune.tracking.common import flat_params
from rudratune.train.loop import build_module
from tests.helpers import EXPERIMENT, REPO, TEST_ENV, TEST_ENV_DROP, cli, files_under, tiny_space

CKPT = "epoch000-val_loss0.5000.ckpt"


def _config() -> ExperimentConfig:
    overrides = [
        "data.image_size=32",
        "model.name=scratch.UNet",
        "tracking.mlflow=false",
        "tracking.wandb=false",
    ]
    return validate_model(ExperimentConfig, apply_overrides(read_yaml(EXPERIMENT), overrides), source="test")


def _decoding() -> Decoding:
    return Decoding("auto", "range", 1, "uint8")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint as Lightning writes it (its state_dict), of a real 1-channel network."""
    path = tmp_path_factory.mktemp("weights") / CKPT
    torch.save({"epoch": 0, "state_dict": build_module(_config(), 1).state_dict()}, path)
    return path


@pytest.fixture
def run_dir(tmp_path: Path, weights: Path) -> Path:
    """A `rudratune train` run folder as predict reads it, its metrics.json naming its best checkpoint."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "artifacts").mkdir()
    shutil.copy(weights, run / "checkpoints" / CKPT)
    write_config(_config(), run / "config.yaml")
    (run / "decoding.json").write_text(_decoding().to_json())
    best = {"best_checkpoint": str(run / "checkpoints" / CKPT)}
    (run / "artifacts" / "metrics.json").write_text(json.dumps(best))
    return run


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def _ensemble(folder: Path, checkpoint: str, *, sweep_dir: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    member = {
        "name": "t1",
        "checkpoint": checkpoint,
        "config": _config().model_dump(mode="json"),
        "decoding": json.loads(_decoding().to_json()),
    }
    path = folder / "ensemble.yaml"
    path.write_text(
        yaml.safe_dump({"kind": "rudratune.ensemble/v1", "sweep_dir": sweep_dir, "members": [member]})
    )
    return path


def _predict(source: Path | str, images: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str):
    code = main(["predict", str(source), str(images), "-o", str(out), "--quiet", *extra])
    return code, capsys.readouterr().err.strip().splitlines()


def _one_line(code: int, lines: list[str], expected: str) -> None:
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("rudratune: error: ") and expected in lines[0], lines[0]


ENSEMBLE_DAMAGE = {
    "ensemble file truncated": (
        lambda text: text[: text.index("decoding:")],  # the end of the last member cut off
        "damaged ensemble file: members.0.",
    ),
    "ensemble file of random bytes": (
        lambda text: b"\xf9\x00\xff" + os.urandom(64),
        "cannot read (UnicodeDecodeError)",
    ),
    "ensemble file without members": (
        lambda text: "kind: rudratune.ensemble/v1\n",
        "damaged ensemble file: members: Field required",
    ),
    "ensemble file with no member": (
        lambda text: "kind: rudratune.ensemble/v1\nmembers: []\n",
        "damaged ensemble file: members: List should have at least 1 item",
    ),
    "ensemble members not a list": (
        lambda text: "kind: rudratune.ensemble/v1\nmembers: 7\n",
        "damaged ensemble file: members: Input should be a valid list",
    ),
    "ensemble file with a python tag": (
        lambda text: "kind: rudratune.ensemble/v1\nmembers: !!python/object/apply:os.system ['true']\n",
        "malformed YAML: could not determine a constructor for the tag",
    ),
    "ensemble member decoding damaged": (
        lambda text: text.replace("source_dtype: uint8", "dtype: uint8"),
        "member t1: damaged decoding record (TypeError)",
    ),
}


@pytest.mark.parametrize("case", list(ENSEMBLE_DAMAGE))
def test_damaged_ensemble_file_is_one_line(
    case: str, run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, expected = ENSEMBLE_DAMAGE[case]
    path = _ensemble(tmp_path / "ens", str(run_dir / "checkpoints" / CKPT))
    damaged = damage(path.read_text())
    path.write_bytes(damaged if isinstance(damaged, bytes) else damaged.encode())
    before = files_under(tmp_path)
    code, lines = _predict(path, images, tmp_path / "pred", capsys)
    _one_line(code, lines, expected)
    assert files_under(tmp_path) == before


RUN_DAMAGE = {
    "run config not text": (
        "config.yaml",
        b"\x00\xff\xfe garbage: [",
        "config.yaml: cannot read (UnicodeDecodeError)",
    ),
    "run decoding not JSON": (
        "decoding.json",
        b"{not json",
        "decoding.json: damaged decoding record (JSONDecodeError)",
    ),
    "run decoding a list": (
        "decoding.json",
        b"[1, 2, 3]",
        "decoding.json: damaged decoding record (AttributeError)",
    ),
    "checkpoint of random bytes": (
        f"checkpoints/{CKPT}",
        os.urandom(2000),
        f"{CKPT}: cannot load its weights",
    ),
    "checkpoint truncated": (f"checkpoints/{CKPT}", None, f"{CKPT}: cannot load its weights"),
    "checkpoint emptied": (f"checkpoints/{CKPT}", b"", f"{CKPT}: cannot load its weights (EOFError"),
    "checkpoint that is a text file": (
        f"checkpoints/{CKPT}",
        b"root:x:0:0:root:/root:/bin/bash\n",
        "cannot load",
    ),
}


@pytest.mark.parametrize("case", list(RUN_DAMAGE))
def test_damaged_run_file_is_one_line(
    case: str, run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, content, expected = RUN_DAMAGE[case]
    path = run_dir / name
    path.write_bytes(path.read_bytes()[:5000] if content is None else content)
    code, lines = _predict(run_dir, images, tmp_path / "pred", capsys)
    _one_line(code, lines, expected)
    assert not (tmp_path / "pred").exists() and not list(tmp_path.glob(".pred*"))


def test_checkpoint_that_would_run_code_is_not_loaded(
    run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint is a pickle: one named by a shared ensemble.yaml ran its payload (it now reads weights
    only)."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"state_dict": Payload()}))
    code, lines = _predict(_ensemble(tmp_path / "ens", str(evil)), images, tmp_path / "pred", capsys)
    _one_line(code, lines, "evil.ckpt: cannot load its weights (UnpicklingError: it holds objects other than")
    assert not marker.exists()


def test_damaged_metrics_json_falls_back_to_the_kept_checkpoint(
    run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_dir / "artifacts" / "metrics.json").write_text("{trunc")
    code, _ = _predict(run_dir, images, tmp_path / "pred", capsys)
    assert code == 0 and len(list((tmp_path / "pred" / "masks").iterdir())) == 3


def _used(out: Path) -> str:
    return json.loads((out / "predict.json").read_text())["members"][0]["checkpoint"]


def test_copied_run_predicts_from_its_own_checkpoint(
    run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """metrics.json names the original's checkpoint: a copy used it (and the original's changes)."""
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    code, _ = _predict(copy, images, tmp_path / "pred", capsys)
    assert code == 0 and _used(tmp_path / "pred") == str(copy / "checkpoints" / CKPT)


def test_copied_sweep_ensemble_uses_its_own_checkpoints(
    run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ensemble.yaml in its sweep folder names checkpoints where the sweep ran: a copy (or a moved sweep)
    takes them from its own folder."""
    original = tmp_path / "sweeps" / "s1"
    (original / "t1").mkdir(parents=True)
    shutil.copy(run_dir / "checkpoints" / CKPT, original / "t1" / "checkpoint.ckpt")
    (original / "sweep.json").write_text("{}")
    _ensemble(original, str(original / "t1" / "checkpoint.ckpt"), sweep_dir=str(original))
    moved = tmp_path / "elsewhere" / "s1"
    shutil.copytree(original, moved)
    code, _ = _predict(moved / "ensemble.yaml", images, tmp_path / "pred", capsys)
    assert code == 0 and _used(tmp_path / "pred") == str(moved.resolve() / "t1" / "checkpoint.ckpt")
    shutil.rmtree(original)
    code, _ = _predict(moved / "ensemble.yaml", images, tmp_path / "pred2", capsys)
    assert code == 0


@pytest.mark.parametrize("device", ["tpu", "cuda:7"])
def test_device_that_is_not_there_is_one_line(
    device: str, run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: cuda:N may be valid")
    code, lines = _predict(run_dir, images, tmp_path / "pred", capsys, "--device", device)
    _one_line(
        code, lines, f"--device: got '{device}'; this machine has no GPU that torch can use; valid: auto, cpu"
    )


def test_partial_folder_of_a_killed_predict_is_removed(
    run_dir: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = tmp_path / ".pred.partial-4194999"  # above any pid this kernel hands out by default
    (dead / "masks").mkdir(parents=True)
    code, _ = _predict(run_dir, images, tmp_path / "pred", capsys)
    assert code == 0 and not dead.exists()


def test_mlflow_server_down_for_a_model_uri_is_said_in_seconds(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It waited for MLflow's retries (over 120 s); the URI's password is not shown."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://alice:s3cretpw@127.0.0.1:9")
    start = time.monotonic()
    code, lines = _predict("models:/pores/1", images, tmp_path / "pred", capsys)
    assert time.monotonic() - start < 30
    _one_line(code, lines, "SOURCE: models:/pores/1: cannot reach MLflow at http://127.0.0.1:9 (")
    assert "s3cretpw" not in lines[0]


def test_well_known_tokens_are_secrets_under_any_key() -> None:
    """A GitHub token under ``+provenance.ref`` reached mlflow.db, config.yaml and the W&B run file."""
    values = {
        "ref": "ghp_" + "a1" * 18,
        "hub": "hf_" + "b2" * 16,
        "llm": "sk-" + "c3" * 12,
        "aws": "AKIA" + "D" * 16,
        "chat": "xoxb-" + "1234" * 4,
        "model": "hf_model",  # not a token: too short
        "note": "history of sk-ills",
    }
    kept = flat_params({"provenance": values})
    assert kept == {"provenance.model": "hf_model", "provenance.note": "history of sk-ills"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    return {**env, **TEST_ENV}


def _under_file_size_limit(args: list[str], kib: int, timeout: float) -> subprocess.CompletedProcess:
    """``rudratune ARGS`` in a process whose files may not grow past ``kib`` KiB (``ulimit -f``: EFBIG, which
    the commands say as they say a full disk's ENOSPC)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))

    return subprocess.run(
        [sys.executable, "-m", "rudratune", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        preexec_fn=limit,
        timeout=timeout,
    )


def _wait_for(check, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not check():
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_during_data_synth_leaves_nothing(sig: signal.Signals, tmp_path: Path) -> None:
    """SIGTERM killed it at once (exit -15) and left its hidden .tmp folder; now it is Ctrl-C's exit."""
    cmd = [
        sys.executable,
        "-m",
        "rudratune",
        "data",
        "synth",
        str(tmp_path / "syn"),
        "--n",
        "4000",
        "--size",
        "128",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    _wait_for(lambda: len(list(tmp_path.glob(".syn.tmp-*/images/*"))) > 5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert err.strip().splitlines()[-1].startswith("rudratune: interrupted"), err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_predict_leaves_nothing(run_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(300):
        Image.fromarray(rng.integers(0, 255, (256, 256), dtype=np.uint8)).save(folder / f"i{i:03d}.png")
    cmd = [
        sys.executable,
        "-m",
        "rudratune",
        "predict",
        str(run_dir),
        str(folder),
        "-o",
        str(tmp_path / "pred"),
    ]
    proc = subprocess.Popen(
        [*cmd, "-q", "--batch-size", "4"], stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO
    )
    _wait_for(lambda: any(tmp_path.glob(".pred.partial-*/masks/*")))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "rudratune: interrupted (SIGTERM)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many", "run"]


def test_file_size_limit_during_predict_is_one_line(run_dir: Path, images: Path, tmp_path: Path) -> None:
    """``ulimit -f`` (EFBIG) and a full disk (ENOSPC) printed a traceback from deep in PIL or csv."""

    args = ["predict", str(run_dir), str(images), "-o", str(tmp_path / "pred")]
    proc = _under_file_size_limit([*args, "--probabilities", "--format", "tiff", "-q"], kib=8, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert lines == [
        "rudratune: error: writing the output: file too large for this process's file-size limit (ulimit -f); "
        "free space (or raise the limit) and run again"
    ]
    assert not (tmp_path / "pred").exists() and not list(tmp_path.glob(".pred*"))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    """One tiny real sweep (2 trials of 1 epoch), its folder to copy from."""
    tmp = tmp_path_factory.mktemp("sweep")
    space = tiny_space(tmp, tiny_data, num_samples=2, epochs=1, max_concurrent=1)
    result = cli(
        "--output-root", str(tmp / "runs"), "run", str(space), "--name", "s1", "tracking.wandb=false"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "runs" / "s1"


@pytest.mark.slow
def test_moved_sweep_predicts_and_exports_from_its_own_checkpoints(
    sweep: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """results.json keeps the checkpoints' absolute paths: a copy predicted from the original's, and a
    moved sweep said 'no trial of this sweep kept its weights'."""
    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy)
    images = tiny_data / "images"
    result = cli("predict", str(copy), str(images), "--best", "-o", str(tmp_path / "pred"), "-q")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _used(tmp_path / "pred").startswith(str(copy.resolve()))
    moved = tmp_path / "moved"
    shutil.copytree(sweep, tmp_path / "orig")
    (tmp_path / "orig" / "sweep.json").write_text(
        (sweep / "sweep.json").read_text().replace(str(sweep.resolve()), str((tmp_path / "orig").resolve()))
    )
    for name in ("results.json",):
        text = (sweep / name).read_text().replace(str(sweep.resolve()), str((tmp_path / "orig").resolve()))
        (tmp_path / "orig" / name).write_text(text)
    (tmp_path / "orig").rename(moved)  # what `mv` does: sweep.json and results.json still name orig
    result = cli("export", str(moved), "--ensemble", "2", "-o", str(tmp_path / "ens.yaml"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert str(moved.resolve()) in (tmp_path / "ens.yaml").read_text()


@pytest.mark.slow
def test_report_over_a_folder_and_under_sigterm(sweep: Path, tmp_path: Path) -> None:
    """report.html made a folder was an IsADirectoryError traceback; a SIGTERM mid-report left report/."""
    copy = tmp_path / "s1"
    shutil.copytree(sweep, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "report")
    (copy / "report.html").mkdir()
    result = cli("report", str(copy))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"rudratune: error: {copy}/report.html is a folder; valid: a file the report can replace (move the "
        "folder away)"
    ]
    (copy / "report.html").rmdir()
    cmd = [sys.executable, "-m", "rudratune", "report", str(copy)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    _wait_for(lambda: (copy / "report").exists())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert not (copy / "report").exists() and not (copy / "report.html").exists()
    assert not list(copy.glob(".report.html.tmp-*"))


def test_a_damaged_mlflow_store_is_refused_before_the_run_folder(
    tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """d24: a garbage mlflow.db gave the right line, but only after the run folder had been made."""
    from tests.helpers import tiny_overrides

    out = tmp_path / "runs"
    out.mkdir()
    (out / "mlflow.db").write_bytes(os.urandom(4096))
    code = main(["--output-root", str(out), "train", str(EXPERIMENT), *tiny_overrides(tiny_data), "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    _one_line(code, lines, f"{out / 'mlflow.db'} is not an SQLite database (damaged, or another file)")
    assert files_under(out) == {out / "mlflow.db"}


def test_register_with_an_unreachable_mlflow_server_fails_at_once(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """x03: ``export --register`` against a server that is down hung past 60 s (the client's retries)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    start = time.monotonic()
    code = main(["export", str(run_dir), "--register", "pores"])
    lines = capsys.readouterr().err.strip().splitlines()
    _one_line(code, lines, "cannot reach MLflow at http://127.0.0.1:9")
    assert time.monotonic() - start < 30


def test_importing_the_served_model_prints_no_advice() -> None:
    """f05: every command that loaded the served model printed MLflow's "Add type hints" warning on stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", "import rudratune.serve.segmenter"], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert "type hint" not in proc.stderr, proc.stderr


def test_a_predict_finished_meanwhile_to_the_same_folder_is_not_replaced(
    run_dir: Path,
    images: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two predicts to one ``-o`` at once: the later to finish replaced the earlier's masks without a word."""
    from rudratune.inference import run as inference_run

    out, real = tmp_path / "pred", inference_run._write_all

    def another_finishes_first(*args: object) -> None:
        real(*args)  # type: ignore[arg-type]
        out.mkdir()
        (out / "theirs.png").write_bytes(b"the other predict's mask")

    monkeypatch.setattr(inference_run, "_write_all", another_finishes_first)
    code, lines = _predict(run_dir, images, out, capsys)
    _one_line(
        code, lines, f"-o: {out} was written meanwhile (by another command?); pass --force to replace it"
    )
    assert [p.name for p in out.iterdir()] == ["theirs.png"]
    assert not list(tmp_path.glob(".pred.partial-*"))


def test_export_of_a_train_run_without_its_store_makes_none(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export RUN --onnx`` of a train run whose MLflow store is not where the run's root says: MLflow made an
    empty store there (migrating its schema for seconds) only to find no run."""
    root = run_dir.resolve().parent.parent
    assert not (root / "mlflow.db").exists()
    code = main(["export", str(run_dir), "--onnx", str(tmp_path / "net.onnx")])
    lines = capsys.readouterr().err.strip().splitlines()
    _one_line(code, lines, f"no MLflow store at {root / 'mlflow.db'}; set MLFLOW_TRACKING_URI")
    assert not (root / "mlflow.db").exists() and not list(tmp_path.glob("net.onnx*"))


@pytest.mark.slow
def test_onnx_export_over_the_file_size_limit_leaves_no_half_model(sweep: Path, tmp_path: Path) -> None:
    """``ulimit -f`` (a quota; a full disk says ENOSPC the same way) during ``export --onnx``: one line, and
    neither the cut model nor its decoding file left."""

    proc = _under_file_size_limit(
        ["export", str(sweep), "--onnx", str(tmp_path / "net.onnx")], kib=16, timeout=300
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert "file too large for this process's file-size limit (ulimit -f)" in lines[0], lines
    assert not list(tmp_path.glob("net.onnx*"))


@pytest.mark.slow
def test_report_over_the_file_size_limit_is_one_line_and_leaves_no_page(sweep: Path, tmp_path: Path) -> None:
    """``ulimit -f`` (a quota; a full disk says ENOSPC the same way) while the report writes its figures: a
    traceback from deep in matplotlib, and a half-made report/ left."""
    copy = tmp_path / "s1"
    shutil.copytree(sweep, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "report")
    proc = _under_file_size_limit(["report", str(copy)], kib=16, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert "file too large for this process's file-size limit (ulimit -f)" in lines[0], lines
    assert not (copy / "report").exists() and not (copy / "report.html").exists()
    assert not list(copy.glob(".report.html.tmp-*"))
