"""`rudratune train` through the real CLI: trackers, artifacts, and the errors a user can make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.helpers import EXPERIMENT, cli, files_under, history, records, run_file, summary, tiny_overrides

LOAD_MODEL = """
import sys, numpy, torch, mlflow.pytorch
model = mlflow.pytorch.load_model(sys.argv[1])
with torch.no_grad():
    out = model(torch.from_numpy(numpy.load(sys.argv[2])))
numpy.save(sys.argv[3], out.numpy())
assert not any(m.split(".")[0] == "rudratune" for m in sys.modules), "the model needed rudratune"
"""


def test_train_end_to_end_logs_both_trackers_and_artifacts(
    tiny_data: Path, out: Path, tmp_path: Path
) -> None:
    home, tmp = tmp_path / "home", tmp_path / "tmp"  # what the run may leave outside the output root
    home.mkdir()
    tmp.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(tmp)}
    result = cli(
        "--output-root", str(out), "train", str(EXPERIMENT), *tiny_overrides(tiny_data), "-q", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "wandb: WARNING" not in result.stderr, result.stderr  # e.g. "The anonymous setting has no effect"
    assert {p.name for p in tmp.iterdir()} <= {"torchinductor_root"}  # torch's cache (importing smp makes it)
    assert not [p for p in files_under(home) if "wandb" in str(p)]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("test_loss ") and "test_dice" in last and "test_iou" in last

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rudratune")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.name"] == "smp.Unet" and run.data.params["data.image_size"] == "32"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [0, 1] or len(
        client.get_metric_history(run.info.run_id, "val_loss")
    ) == 2
    assert {"test_loss", "test_dice", "test_iou", "val_dice", "params_m", "latency_ms"} <= set(
        run.data.metrics
    )
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "artifacts")}
    assert "artifacts/predictions_test.png" in logged and "artifacts/metrics.json" in logged
    assert "None" not in run.data.params.values()

    (run_dir,) = (out / "train").iterdir()
    decoding = json.loads((run_dir / "decoding.json").read_text())  # how predict/export decode new images
    assert decoding["mode"] == "auto" and decoding["rule"] == "range" and decoding["source_dtype"] == "uint8"
    rows = history(run_file(next((run_dir / "wandb").glob("offline-run-*"))))
    assert sum("val_loss" in r for r in rows) == 2

    artifacts = run_dir / "artifacts"
    for name in ("predictions_train", "predictions_val", "predictions_test", "learning_curves"):
        with Image.open(artifacts / f"{name}.png") as img:
            img.verify()
    metrics = json.loads((artifacts / "metrics.json").read_text())
    assert len(metrics["history"]) == 2 and 0 <= metrics["test"]["test_dice"] <= 1
    assert metrics["cost"]["params_m"] == pytest.approx(run.data.metrics["params_m"])
    assert metrics["cost"]["latency_ms"] > 0 and "peak_mem_mb" not in metrics["cost"]  # CPU: no GPU memory
    assert len(list((run_dir / "checkpoints").glob("*.ckpt"))) == 2  # top 3 of 2 epochs

    # best values beside the last ones, in both trackers
    best_loss = min(r["val_loss"] for r in metrics["history"])
    best_row = min(metrics["history"], key=lambda r: r["val_loss"])
    assert run.data.metrics["best_val_loss"] == pytest.approx(best_loss)
    assert run.data.metrics["best_val_dice"] == pytest.approx(max(r["val_dice"] for r in metrics["history"]))
    assert run.data.metrics["best_epoch"] == best_row["epoch"]
    wandb_summary = summary(run_file(next((run_dir / "wandb").glob("offline-run-*"))))
    assert wandb_summary["best_val_loss"] == pytest.approx(best_loss)
    assert wandb_summary["best_epoch"] == best_row["epoch"]
    wandb_file = run_file(next((run_dir / "wandb").glob("offline-run-*")))
    (model,) = [
        r.artifact
        for r in records(wandb_file)
        if r.WhichOneof("record_type") == "artifact" and r.artifact.type == "model"
    ]
    entries = {e.path: e for e in model.manifest.contents}
    assert {"model/MLmodel", "model/data/model.pt2", "smp_model/model.safetensors"} <= set(entries)
    for entry in entries.values():  # uploaded files, staged in the run's folder, not file:// references
        assert not entry.ref and Path(entry.local_path).is_relative_to(run_dir / "wandb"), entry
    # the checkpoint stays in the run folder only; MLflow gets a reference and the model
    assert not client.list_artifacts(run.info.run_id, "checkpoints")
    assert run.data.tags["rudratune.checkpoint"].endswith(".ckpt")
    assert {"config.json", "model.safetensors"} <= {
        Path(a.path).name for a in client.list_artifacts(run.info.run_id, "smp_model")
    }
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, len(i.dataset.digest)) for i in inputs] == [(tiny_data.name, 16)]
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_logged_model_segments_like_the_training_module_without_rudratune(
    tiny_data: Path, out: Path, tmp_path: Path
) -> None:
    """Acceptance (issue 11.2): mlflow.pytorch.load_model on what train logged matches the trained net."""
    import subprocess
    import sys

    import numpy as np
    import torch

    from rudratune.config.experiment import load_experiment
    from rudratune.data.datamodule import to_tensors
    from rudratune.data.folder import load_folder
    from rudratune.train.loop import build_module

    overrides = [*tiny_overrides(tiny_data), "trainer.max_epochs=1", "tracking.wandb=false"]
    result = cli("--output-root", str(out), "train", str(EXPERIMENT), *overrides, "-q")
    assert result.returncode == 0, result.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("rudratune").experiment_id])
    model_uri = run.data.tags["rudratune.model_uri"]
    models = client.search_logged_models([run.info.experiment_id])  # the pt2 model and the served pyfunc
    (logged,) = [m for m in models if f"models:/{m.model_id}" == model_uri]
    assert logged.artifact_location.startswith(out.as_uri())

    cfg = load_experiment(EXPERIMENT, overrides)
    data = load_folder(tiny_data)
    images, _ = to_tensors(data.subset([0, 1, 2]), cfg.data.image_size)
    np.save(tmp_path / "x.npy", images.numpy())
    module = build_module(cfg, data.channels)
    state = torch.load(run.data.tags["rudratune.checkpoint"], map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    module.train(False)
    with torch.no_grad():
        expected = module(images).numpy()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{out / 'mlflow.db'}", "PATH": "/usr/bin:/bin"}
    loaded = subprocess.run(  # a bare interpreter: no rudratune on its path, cwd outside the repository
        [sys.executable, "-c", LOAD_MODEL, model_uri, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert np.allclose(np.load(tmp_path / "y.npy"), expected, atol=1e-5)


def test_train_is_deterministic(tiny_data: Path, out: Path) -> None:
    args = [
        "--output-root",
        str(out),
        "train",
        str(EXPERIMENT),
        *tiny_overrides(tiny_data),
        "-q",
        "tracking.mlflow=false",
        "tracking.wandb=false",
    ]
    first, second = cli(*args), cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]


def unpaired(tmp_path: Path, tiny_data: Path) -> Path:
    root = tmp_path / "unpaired"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, image in enumerate(sorted((tiny_data / "images").iterdir())[:3]):
        (root / "images" / image.name).write_bytes(image.read_bytes())
        if i:
            (root / "masks" / image.name).write_bytes((tiny_data / "masks" / image.name).read_bytes())
    return root


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (["model.name=smp.NoSuchNet"], "unknown model 'smp.NoSuchNet'"),
        (
            ["data.image_size=33"],
            "data.image_size: smp.DeepLabV3Plus needs data.image_size divisible by 32, got 33",
        ),
        (["data.root=/nonexistent"], "data.root: no such folder /nonexistent"),
        (["data.root={unpaired}"], "data.root: image without a mask: "),
        (["trainer.max_epoch=1"], "did you mean 'max_epochs'"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, tiny_data: Path, out: Path, overrides: list[str], needle: str
) -> None:
    overrides = [o.replace("{unpaired}", str(unpaired(tmp_path, tiny_data))) for o in overrides]
    before = files_under(out)
    result = cli("--output-root", str(out), "train", str(EXPERIMENT), *overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rudratune: error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert files_under(out) == before
