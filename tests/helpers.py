"""Helpers the tests share: paths, the offline environment, the real CLI in a subprocess, tiny sweeps,
and readers for what runs leave behind (results.csv, MLflow runs, offline W&B run files)."""

from __future__ import annotations

import csv
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient
from wandb.proto import wandb_internal_pb2

from rudratune.runtime import CALLER_ENV, OFFLINE_ENV
from rudratune.search.results import TrialRow, row_from_dict

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = REPO / "experiments" / "rudraksha.yaml"

TEST_ENV = OFFLINE_ENV
# before anything imports ray: Ray reads it at import time and then binds to 127.0.0.1 only
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
TEST_ENV_DROP = (*CALLER_ENV, "RAY_TMPDIR")
"""Also a RAY_TMPDIR left by an in-process sweep (``init_ray`` sets it to its private session folder): a test's
subprocess that inherited it shared that Ray's folder instead of making its own (the secrets test found no
session folder of its own; a resumed kill -9 sweep failed in Ray, in the full slow run only)."""


def tiny_overrides(data: Path) -> list[str]:
    """Overrides that make any experiment train in seconds on a CPU."""
    return [
        f"data.root={data}",
        "data.image_size=32",
        "data.batch_size=4",
        "model.name=smp.Unet",
        "model.encoder=resnet18",
        "trainer.max_epochs=2",
    ]


def cli(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m rudratune ARGS`` the way a user runs it."""
    full_env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    full_env.update(TEST_ENV)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rudratune", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=REPO,
    )


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*")} if path.exists() else set()


def tiny_space(
    tmp_path: Path,
    data: Path,
    *,
    num_samples: int = 6,
    epochs: int = 4,
    reduction_factor: float = 2,
    max_concurrent: int = 2,
    grace_period: int | str = 1,
    log_models: bool = True,
) -> Path:
    """A sweep of tiny trials. ``log_models=False`` for tests that never look at the best model: it saves the
    finish's two ``torch.export``s (about 10 s a sweep)."""
    path = tmp_path / "tiny.yaml"
    models = "" if log_models else "\n  tracking.log_models: {value: false}"
    path.write_text(f"""
experiment: {EXPERIMENT}
search:
  num_samples: {num_samples}
  max_concurrent: {max_concurrent}
  searcher: {{name: optuna, seed: 3, n_startup_trials: 3}}
  scheduler: {{name: asha, grace_period: {grace_period}, reduction_factor: {reduction_factor}}}
resources: {{cpu: 1, gpu: 0}}
space:
  data.root: {{value: {data}}}
  data.image_size: {{value: 32}}
  data.batch_size: {{value: 4}}
  trainer.max_epochs: {{value: {epochs}}}
  model.name: {{value: monai.UNet}}
  loss.name: {{values: [GeneralizedDiceLoss, DiceFocalLoss]}}
  loss.gamma: {{distribution: uniform, min: 0.5, max: 3.0, when: {{loss.name: [DiceFocalLoss]}}}}
  optimizer.lr: {{distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}}{models}
""")
    return path


def read_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "results.csv").open() as f:
        return list(csv.DictReader(f))


def trial_histories(run_dir: Path) -> list[tuple[str, list[float]]]:
    """Each trial's id and ``rank_val_dice`` epoch by epoch, in trial order (Tune's index in the folder name)."""
    by_index = {}
    for result_json in run_dir.glob("*/result.json"):
        reported = [json.loads(line) for line in result_json.read_text().splitlines() if line.strip()]
        index = int(re.search(r"run_trial_\w{8}_(\d+)_", result_json.parent.name)[1])
        by_index[index] = (reported[0]["trial_id"], [r["rank_val_dice"] for r in reported])
    return [by_index[i] for i in sorted(by_index)]


def replayed_asha(
    histories: list[tuple[str, list[float]]],
    rungs: list[int],
    rf: float,
    max_epochs: int,
    *,
    judged_after: int = 0,
) -> dict[str, str]:
    """The reason ASHA's rule gives each trial when results arrive in trial order: at each rung, a trial below
    the (1 - 1/rf) percentile of the values recorded there stops. The first ``judged_after`` trials are only
    recorded (a measured rung is placed after them)."""
    recorded: dict[int, list[float]] = {rung: [] for rung in rungs}
    reasons = {}
    for index, (trial_id, values) in enumerate(histories, start=1):
        reasons[trial_id] = f"completed {max_epochs} epochs"
        for rung in rungs:
            seen = recorded[rung]
            cut = np.percentile(seen, (1 - 1 / rf) * 100) if seen and index > judged_after else None
            seen.append(values[rung - 1])
            if cut is not None and values[rung - 1] < cut:
                reasons[trial_id] = f"stopped by ASHA at epoch {rung}"
                break
    return reasons


def mlflow_runs(out: Path) -> tuple[list, list]:
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    exp = client.get_experiment_by_name("rudratune")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("rudratune.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("rudratune.kind") == "trial"]
    return parents, children


BLOCK = 32768
HEADER = 7  # ":W&B" + magic 0xBEE1 + version


def records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    out, pos, pending = [], HEADER, b""
    while pos + 7 <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < 7:
            pos += left_in_block
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def written(path: Path, timeout: float = 60.0) -> None:
    """Wait until W&B's service has written an offline run file to its end (its exit record). It writes the
    file after ``run.finish()`` returns: under load 1 in 15 files was still empty then. A process's exit waits
    for it; a test reading a run it finished in-process must wait too."""
    deadline = time.monotonic() + timeout
    while not _has_exit(path):
        assert time.monotonic() < deadline, f"{path}: W&B wrote no exit record within {timeout:g} s"
        time.sleep(0.1)


def _has_exit(path: Path) -> bool:
    try:
        return any(r.WhichOneof("record_type") == "exit" for r in records(path))
    except Exception:  # a record half-written
        return False


def history(path: Path) -> list[dict[str, object]]:
    """The logged history rows of an offline run."""
    rows = []
    for record in records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append(
                {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
    return rows


def summary(path: Path) -> dict[str, object]:
    """The final summary of an offline run (later updates win)."""
    out: dict[str, object] = {}
    for record in records(path):
        if record.WhichOneof("record_type") == "summary":
            out.update({item.key: json.loads(item.value_json) for item in record.summary.update})
    return out


def run_file(run_dir: Path) -> Path:
    (path,) = Path(run_dir).glob("run-*.wandb")
    return path


def trial_rows_of(rows: list[dict], order: tuple[str, ...] = ()) -> list[TrialRow]:
    """``TrialRow``s from rows written the way results.json holds them (``best_val_dice``, ``latency_ms``...)."""
    return [row_from_dict(row, order) for row in rows]
