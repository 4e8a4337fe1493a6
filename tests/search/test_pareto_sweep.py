"""A real multi-objective sweep with a cost constraint, through the CLI: refusal before training, what
Optuna is told, the front in the report, export --pick and a retrain of the pick."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.helpers import EXPERIMENT, cli, mlflow_runs, read_rows

pytestmark = pytest.mark.slow


def _space(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "pareto.yaml"
    path.write_text(f"""
experiment: {EXPERIMENT}
metric: [val_dice, latency_ms]
mode: [max, min]
constraints: {{params_m: "<= 5"}}
search:
  num_samples: 4
  max_concurrent: 2
  searcher: {{name: optuna, seed: 3, n_startup_trials: 4}}
  scheduler: {{name: asha, grace_period: 1, reduction_factor: 2}}
resources: {{cpu: 1, gpu: 0}}
space:
  data.root: {{value: {data}}}
  data.image_size: {{value: 32}}
  data.batch_size: {{value: 4}}
  data.num_workers: {{value: 0}}
  trainer.max_epochs: {{value: 2}}
  model.name: {{grid: [monai.UNet, smp.Unet]}}
  model.encoder: {{value: resnet18}}
  optimizer.lr: {{distribution: log_uniform, min: 1.0e-3, max: 1.0e-2}}
  tracking.log_models: {{value: false}}  # the models are tests/serve's
""")
    return path


def test_pareto_sweep_refuses_a_too_large_model_before_it_trains(
    tmp_path: Path, tiny_data: Path, out: Path
) -> None:
    result = cli("--output-root", str(out), "run", str(_space(tmp_path, tiny_data)), "--name", "pareto")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pareto front (val_dice, latency_ms)" in result.stdout
    run_dir = out / "pareto"
    rows = read_rows(run_dir)
    refused = [r for r in rows if r["model.name"] == "smp.Unet"]
    trained = [r for r in rows if r["model.name"] == "monai.UNet"]
    assert refused and trained
    for r in refused:  # smp.Unet-resnet18 on grey (1-channel) images has 14.32 M parameters
        assert r["reason"] == "refused before training: params_m 14.32 > 5", r["reason"]
        assert r["epochs"] == "0" and r["feasible"] == "False" and r["best_val_dice"] == ""
        with (Path(r["trial_dir"]) / "progress.csv").open() as f:
            (only,) = list(csv.DictReader(f))  # one report, the refusal: no epoch ran
        assert not only.get("train_loss") and only["epoch"] == "0"
    for r in trained:
        assert r["feasible"] == "True" and float(r["params_m"]) == pytest.approx(1.625, abs=0.01)
        assert float(r["latency_ms"]) > 0 and int(r["epochs"]) >= 1

    # what Optuna was told: refused trials pruned with their violation, trained ones both objectives
    (state,) = run_dir.glob("searcher-state-*.pkl")
    study = pickle.loads(state.read_bytes())["_ot_study"]
    by_model = {}
    for t in study.trials:
        by_model.setdefault(t.params["model.name"], []).append(t)
    assert all(t.state.name == "PRUNED" for t in by_model["smp.Unet"])
    assert all(
        t.constraints == {"params_m <= 5": pytest.approx(9.328, abs=0.01)} for t in by_model["smp.Unet"]
    )
    for t in by_model["monai.UNet"]:
        assert t.state.name == "COMPLETE" and len(t.values) == 2 and t.constraints["params_m <= 5"] < 0

    parents, children = mlflow_runs(out)
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    assert set(parents[0].data.tags["rudratune.pareto_front"].split(",")) <= {r["trial_id"] for r in trained}
    for child in children:
        assert child.info.status == "FINISHED" and "params_m" in child.data.metrics
        assert "latency_ms" in child.data.metrics
    assert client.get_run(parents[0].info.run_id).data.metrics["pareto_front_size"] >= 1
    page = (run_dir / "report.html").read_text()
    assert (
        "Pareto front: val_dice against latency_ms" in page and (run_dir / "report" / "pareto.png").is_file()
    )

    exported = tmp_path / "pick.yaml"
    result = cli(
        "--output-root",
        str(out),
        "export",
        str(run_dir),
        "--pick",
        "fastest-within",
        "0.05",
        "-o",
        str(exported),
    )
    assert result.returncode == 0, result.stderr
    provenance = yaml.safe_load(exported.read_text())["provenance"]
    assert provenance["choice"]["rule"] == "fastest-within 0.05"
    assert provenance["trial_id"] in provenance["choice"]["candidates"]
    assert provenance["cost"]["latency_ms"] == pytest.approx(provenance["choice"]["latency_ms"])
    retrain = cli("--output-root", str(out), "train", str(exported), "-q", "tracking.wandb=false")
    assert retrain.returncode == 0, retrain.stderr
    # the exported config keeps the sweep's tracking.log_models: false, so the retrain logs no model either
    assert yaml.safe_load(exported.read_text())["tracking"]["log_models"] is False
    (train_run,) = [
        r
        for r in MlflowClient(f"sqlite:///{out / 'mlflow.db'}").search_runs(
            [parents[0].info.experiment_id], "tags.`rudratune.kind` = 'train'"
        )
    ]
    assert train_run.info.status == "FINISHED" and "best_epoch" in train_run.data.metrics
    assert "rudratune.model_uri" not in train_run.data.tags
