"""`rudratune train` through the real CLI: trackers, artifacts, and the errors a user can make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.helpers import EXPERIMENT, cli, files_under, history, run_file, tiny_overrides


def test_train_end_to_end_logs_both_trackers_and_artifacts(tiny_data: Path, out: Path) -> None:
    result = cli("--output-root", str(out), "train", str(EXPERIMENT), *tiny_overrides(tiny_data), "-q")
    assert result.returncode == 0, result.stderr
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

    (run_dir,) = (out / "train").iterdir()
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


def test_train_is_deterministic(tiny_data: Path, out: Path) -> None:
    args = ["--output-root", str(out), "train", str(EXPERIMENT), *tiny_overrides(tiny_data), "-q",
            "tracking.mlflow=false", "tracking.wandb=false"]  # fmt: skip
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
