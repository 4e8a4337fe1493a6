"""The sweep's best trial serves itself too (issue 17.3): a pyfunc named after the trial with the trial's own
params on the sweep's parent run; ``export --onnx`` and ``--register`` take the sweep folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import cli, tiny_space


@pytest.mark.slow
def test_sweep_best_trial_is_served_exported_and_registered(
    tmp_path: Path, tiny_data: Path, out: Path
) -> None:
    import mlflow
    import mlflow.pyfunc

    space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=1, max_concurrent=1)
    tmp = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    result = cli(
        "--output-root",
        str(out),
        "run",
        str(space),
        "--name",
        "tiny",
        "--no-report",
        env={"TMPDIR": str(tmp)},
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    uri = f"sqlite:///{out / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("rudratune")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`rudratune.kind` = 'sweep'")
    pyfunc_uri = parent.data.tags["rudratune.pyfunc_uri"]
    models = {m.model_id: m for m in client.search_logged_models([experiment.experiment_id])}
    served = models[pyfunc_uri.split("/")[-1]]
    trial_id = served.tags["rudratune.trial_id"]
    assert served.name == f"tiny-{trial_id}" and served.params["trial_id"] == trial_id
    assert served.params["loss.name"] in ("GeneralizedDiceLoss", "DiceFocalLoss")  # the trial's, not a space
    assert served.params["model.name"] == "monai.UNet"
    pt2 = models[parent.data.tags["rudratune.model_uri"].split("/")[-1]]
    assert pt2.params["trial_id"] == trial_id and pt2.tags["rudratune.sweep"] == "tiny"

    onnx = tmp_path / "best.onnx"
    env = {"MLFLOW_TRACKING_URI": uri}
    result = cli(
        "export", str(out / "tiny"), "--onnx", str(onnx), "--register", "tiny-best", env=env, timeout=1800
    )
    assert result.returncode == 0, result.stderr
    assert f"trial {trial_id}" in result.stdout and "models:/tiny-best/1" in result.stdout
    assert onnx.is_file() and (tmp_path / "best.onnx.json").is_file()
    assert client.get_model_version("tiny-best", "1").source == pyfunc_uri  # the served pyfunc model
    mlflow.set_tracking_uri(uri)
    raw = np.random.default_rng(0).integers(0, 255, (45, 61), dtype=np.uint8)
    assert mlflow.pyfunc.load_model("models:/tiny-best/1").predict(raw).shape == (45, 61)
