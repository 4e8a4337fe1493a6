"""A real tiny sweep through the CLI: Ray Tune + Optuna + ASHA, both trackers, export → train, resume."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from rudratune.search.driver import draw
from rudratune.search.record import load_study
from rudratune.search.space import load_sweep
from tests.helpers import (
    REPO,
    TEST_ENV,
    cli,
    files_under,
    history,
    mlflow_runs,
    read_rows,
    records,
    replayed_asha,
    run_file,
    summary,
    tiny_space,
    trial_histories,
)

pytestmark = pytest.mark.slow


SECRETS = ("S3CRET-ON-THE-COMMAND-LINE", "PW-IN-A-CONFIG-URI")


def test_tiny_sweep_end_to_end(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    # one trial at a time, so results reach ASHA in trial order and the sweep is deterministic (seeded TPE,
    # seeded training on the CPU): the rung decisions can be replayed below. With two at a time, a tiny
    # trial can finish all its epochs before the driver reads its first result, and TPE's trials improve
    # one after another, so whether anything is stopped depended on timing.
    space = tiny_space(tmp_path, tiny_data, reduction_factor=4, max_concurrent=1)
    home = tmp_path / "home"  # what the run may leave outside the output root
    home.mkdir()
    tmp = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    secrets = [f"+provenance.api_key={SECRETS[0]}", f"+provenance.source=http://alice:{SECRETS[1]}@host/x"]
    result = cli(
        "--output-root",
        str(out),
        "run",
        str(space),
        "--name",
        "tiny",
        "--no-report",
        *secrets,
        env={"HOME": str(home), "TMPDIR": str(tmp)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    left = {p.name for p in tmp.iterdir()} - {"torchinductor_root"}  # torch's cache: importing smp makes it
    shutil.rmtree(tmp)
    assert not left, left  # Ray's session folder was removed; no W&B staging there
    assert not [p for p in files_under(home) if "wandb" in str(p) or "ray" in p.name], files_under(home)
    for path in files_under(out):  # W&B run files, sweep.json, mlflow.db, checkpoints...
        if path.is_file():
            assert not any(s.encode() in path.read_bytes() for s in SECRETS), path
    assert "best val Dice" in result.stdout
    run_dir = out / "tiny"

    rows = read_rows(run_dir)
    assert len(rows) == 6
    for r in rows:  # the reference loss and the running best, for every trial
        assert float(r["best_val_ref_loss"]) > 0 and 0 <= float(r["best_val_dice"]) <= 1
    for result_json in run_dir.glob("*/result.json"):  # each trial reported its running best every epoch
        reported = [json.loads(line) for line in result_json.read_text().splitlines() if line.strip()]
        running = [max(r["val_dice"] for r in reported[: i + 1]) for i in range(len(reported))]
        assert [r["best_val_dice"] for r in reported] == running
        assert all("val_ref_loss" in r and "val_loss" in r for r in reported)
    record = json.loads((run_dir / "sweep.json").read_text())
    assert record["searcher"]["sampler"] == "TPESampler" and record["searcher"]["multivariate"] is True
    assert record["searcher"]["optuna"] and record["objective"]["ranked_by"] == "rank_val_dice"
    assert all(r["status"] == "TERMINATED" for r in rows)
    # ASHA's epoch-1 rung, replayed in trial order: a trial below the 75th percentile of those before it stops
    expected = replayed_asha(trial_histories(run_dir), [1], 4, 4)
    assert {r["trial_id"]: r["reason"] for r in rows} == expected
    assert sum(r["reason"].startswith("stopped by ASHA") for r in rows) >= 1
    for r in rows:  # Optuna's suggestions respect bounds and conditionals
        assert 1e-4 <= float(r["optimizer.lr"]) <= 1e-2
        assert r["loss.name"] in ("GeneralizedDiceLoss", "DiceFocalLoss")
        assert (r["loss.gamma"] != "") == (r["loss.name"] == "DiceFocalLoss")
        if r["loss.gamma"]:
            assert 0.5 <= float(r["loss.gamma"]) <= 3.0
    # the first suggestions are the searcher's seeded sequence (the dry run draws the same)
    drawn = draw(load_sweep(space), 2)
    assert {round(float(r["optimizer.lr"]), 12) for r in rows} >= {
        round(d["optimizer.lr"], 12) for d in drawn
    }

    parents, children = mlflow_runs(out)
    assert len(parents) == 1 and len(children) == 6
    parent = parents[0]
    assert parent.info.status == "FINISHED" and "best_val_dice" in parent.data.metrics
    best = max(rows, key=lambda r: float(r["best_val_dice"]))
    assert parent.data.metrics["best_val_dice"] == pytest.approx(float(best["best_val_dice"]))
    assert "6 trials of tiny.yaml" in parent.data.tags["mlflow.note.content"]
    assert parent.data.tags["rudratune.model_uri"].startswith("models:/")  # the best trial's network
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    by_trial = {c.data.tags["rudratune.trial_id"]: c for c in children}
    for r in rows:
        child = by_trial[r["trial_id"]]
        assert child.info.status == "FINISHED"
        for key in ("best_val_loss", "best_val_dice", "best_epoch"):  # best values, as well as the last
            assert child.data.metrics[key] == pytest.approx(float(r[key])), key
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.data.tags["rudratune.status"] == r["reason"]
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        assert steps == list(range(1, int(r["epochs"]) + 1))

    epochs = {r["trial_id"]: int(r["epochs"]) for r in rows}
    wandb_runs = sorted((run_dir / "wandb").glob("offline-run-*"))
    trial_runs = [d for d in wandb_runs if d.name.rsplit("-", 1)[-1] in epochs]
    assert len(trial_runs) == 6 and len(wandb_runs) == 7  # and the best trial's model run
    (best_run,) = set(wandb_runs) - set(trial_runs)
    (model,) = [r.artifact for r in records(run_file(best_run)) if r.WhichOneof("record_type") == "artifact"]
    assert model.type == "model" and "model/data/model.pt2" in {e.path for e in model.manifest.contents}
    best_dice = {r["trial_id"]: float(r["best_val_dice"]) for r in rows}
    for wandb_dir in trial_runs:
        trial_id = wandb_dir.name.rsplit("-", 1)[-1]
        assert sum("val_loss" in h for h in history(run_file(wandb_dir))) == epochs[trial_id]
        kinds = {r.WhichOneof("record_type") for r in records(run_file(wandb_dir))}
        assert not kinds & {"output", "output_raw", "stats", "environment"}, kinds  # no driver console
        assert summary(run_file(wandb_dir))["best_val_dice"] == pytest.approx(best_dice[trial_id])

    # the Optuna study is in a real storage: optuna-dashboard and load_study read it
    study = load_study(run_dir)
    assert len(study.trials) == 6
    assert {round(t.params["optimizer.lr"], 12) for t in study.trials} == {
        round(float(r["optimizer.lr"]), 12) for r in rows
    }
    # ... and it tells the results' story: the metric named, stopped trials PRUNED with every epoch's value
    # (the last one included), the Ray trial id and how each trial ended on every Optuna trial
    assert study.metric_names == ["val_dice"]
    by_ray_id = {t.user_attrs["ray_trial_id"]: t for t in study.trials}
    assert set(by_ray_id) == {r["trial_id"] for r in rows}
    for r in rows:
        trial = by_ray_id[r["trial_id"]]
        stopped = r["reason"].startswith("stopped by ASHA")
        assert trial.state == (
            optuna.trial.TrialState.PRUNED if stopped else optuna.trial.TrialState.COMPLETE
        )
        assert trial.user_attrs["ending"] == ("stopped_by_asha" if stopped else "completed")
        assert sorted(trial.intermediate_values) == list(range(1, int(r["epochs"]) + 1))
        assert trial.value == pytest.approx(float(r["best_val_dice"]))  # the metric, not a ranking key

    exported = tmp_path / "best.yaml"
    result = cli("--output-root", str(out), "export", str(run_dir), "-o", str(exported))
    assert result.returncode == 0, result.stderr
    provenance = yaml.safe_load(exported.read_text())["provenance"]
    assert provenance["searcher"] == record["searcher"]
    retrain = cli("--output-root", str(out), "train", str(exported), "-q", "tracking.wandb=false")
    assert retrain.returncode == 0, retrain.stderr
    match = re.search(r"\|diff\| ([0-9.e+-]+)", retrain.stdout)
    assert match, retrain.stdout
    assert float(match.group(1)) <= 1e-4


def test_sigint_then_resume_completes(tmp_path: Path, tiny_data: Path, out: Path) -> None:
    space = tiny_space(tmp_path, tiny_data, num_samples=4, epochs=3, log_models=False)
    env = {**TEST_ENV}
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
            "intr",
            "--no-report",
        ],
        cwd=REPO,
        env={**__import__("os").environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run_dir = out / "intr"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(run_dir.glob("run_trial_*/checkpoint_*")):
        time.sleep(0.5)
    assert list(run_dir.glob("run_trial_*/checkpoint_*")), "no trial reached a checkpoint"
    live = load_study(run_dir)
    assert live.trials and "optimizer.lr" in live.trials[0].params  # readable while the sweep runs
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, output
    assert "rudratune resume" in output

    _, children = mlflow_runs(out)
    assert all(c.info.status != "RUNNING" for c in children)

    resumed = cli("--output-root", str(out), "resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = read_rows(run_dir)
    assert len(rows) == 4 and all(r["status"] == "TERMINATED" for r in rows)
    parents, children = mlflow_runs(out)
    assert len(parents) == 1 and len(children) == 4
    assert all(c.info.status == "FINISHED" for c in children + parents)
    assert json.loads((run_dir / "sweep.json").read_text())["name"] == "intr"
