"""The served model (issue 17.3): what ``rudratune train`` logs as an MLflow pyfunc takes raw images of any
size and type and gives masks at their size, decoding as training did, in an interpreter without rudratune."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import EXPERIMENT, cli, tiny_overrides

# 64 px: at 32, smp.Unet's deepest feature map is 1 x 1 and its exported program takes no larger side
OVERRIDES = ["trainer.max_epochs=1", "tracking.wandb=false", "data.image_size=64"]

# Run with ``python -I`` (no cwd, PYTHONPATH or user site on sys.path); the guard then drops every finder and
# path entry that can import rudratune (the venv's editable install puts a finder on sys.meta_path).
WITHOUT_RUDRATUNE = """
import importlib.util, os, sys
from importlib.machinery import PathFinder
sys.meta_path[:] = [f for f in sys.meta_path if f is PathFinder or not (
    hasattr(f, "find_spec") and f.find_spec("rudratune", None) is not None)]
sys.path[:] = [p for p in sys.path if not os.path.exists(os.path.join(p or ".", "rudratune"))]
importlib.invalidate_caches()
assert importlib.util.find_spec("rudratune") is None, sys.path
try:
    import rudratune
except ImportError:
    pass
else:
    raise AssertionError("rudratune is importable")
"""

PREDICT = """
import json, numpy, mlflow.pyfunc
from mlflow.pyfunc import scoring_server
from fastapi.testclient import TestClient
uri, folder = sys.argv[1], sys.argv[2]
model = mlflow.pyfunc.load_model(uri)
raw = numpy.load(folder + "/raw.npy")  # uint16, not the training size
numpy.save(folder + "/mask.npy", model.predict(raw))
numpy.save(folder + "/probs.npy", model.predict([raw, raw[:40, :50]], params={"probabilities": True})[1])
client = TestClient(scoring_server.init(model))  # the app ``mlflow models serve`` runs
served = client.post("/invocations", json={"inputs": {"a": raw.tolist(), "b": raw[:40, :50].tolist()}})
assert served.status_code == 200, served.text
json.dump(served.json(), open(folder + "/served.json", "w"))
assert not any(m.split(".")[0] == "rudratune" for m in sys.modules), "the model needed rudratune"
"""


@pytest.fixture(scope="module")
def trained(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny ``rudratune train`` run with MLflow for the whole module."""
    out = tmp_path_factory.mktemp("runs")
    result = cli(
        "--output-root",
        str(out),
        "train",
        str(EXPERIMENT),
        *tiny_overrides(tiny_data),
        *OVERRIDES,
        "-q",
        timeout=1800,  # two exports (pt2, pyfunc) on a shared, busy CPU
    )
    assert result.returncode == 0, result.stderr
    uri = f"sqlite:///{out / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("rudratune").experiment_id])
    return {"out": out, "uri": uri, "run": run, "client": client}


def _raw(shape: tuple[int, int] = (70, 90)) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 65535, shape, dtype=np.uint16)


@pytest.mark.slow
def test_pyfunc_is_named_after_its_run_with_its_own_params(trained: dict[str, Any]) -> None:
    run, client = trained["run"], trained["client"]
    uri = run.data.tags["rudratune.pyfunc_uri"]
    (model,) = [m for m in client.search_logged_models([run.info.experiment_id]) if uri.endswith(m.model_id)]
    assert model.name == run.info.run_name and model.source_run_id == run.info.run_id
    assert model.params["model.name"] == "smp.Unet" and model.params["data.image_size"] == "64"
    assert model.tags["rudratune.run"] == run.info.run_name


@pytest.mark.slow
def test_pyfunc_decodes_like_training(trained: dict[str, Any], tiny_data: Path) -> None:
    """Probabilities of the stored images match the trained module on training's own tensors."""
    import mlflow
    import mlflow.pyfunc
    import torch
    import torch.nn.functional as F

    from rudratune.config.experiment import load_experiment
    from rudratune.data.datamodule import to_tensors
    from rudratune.data.folder import load_folder
    from rudratune.train.checkpoint import load_trained

    run = trained["run"]
    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.pyfunc.load_model(run.data.tags["rudratune.pyfunc_uri"])
    cfg = load_experiment(EXPERIMENT, [*tiny_overrides(tiny_data), *OVERRIDES])
    data = load_folder(tiny_data)
    module = load_trained(cfg, run.data.tags["rudratune.checkpoint"], data.channels)
    images, _ = to_tensors(data.subset([0, 1, 2]), cfg.data.image_size, cfg.data.normalize)
    with torch.no_grad():
        expected = torch.sigmoid(module(images))
    expected = F.interpolate(expected, size=data.images[0].shape[:2], mode="bilinear", align_corners=False)
    got = model.predict(list(data.images[:3]), params={"probabilities": True})
    np.testing.assert_allclose(np.stack(got), expected[:, 0].numpy(), atol=1e-5)
    masks = model.predict(np.stack(data.images[:3]))
    assert masks.dtype == np.uint8 and masks.shape == (3, *data.images[0].shape[:2])
    assert set(np.unique(masks)) <= {0, 1}


@pytest.mark.slow
def test_pyfunc_predicts_raw_uint16_without_rudratune(trained: dict[str, Any], tmp_path: Path) -> None:
    """Acceptance: load + predict (and the serving app) in an interpreter that cannot import rudratune."""
    import mlflow
    import mlflow.pyfunc

    uri = trained["run"].data.tags["rudratune.pyfunc_uri"]
    raw = _raw()
    np.save(tmp_path / "raw.npy", raw)
    env = {"MLFLOW_TRACKING_URI": trained["uri"], "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-I", "-c", WITHOUT_RUDRATUNE + PREDICT, uri, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    mask = np.load(tmp_path / "mask.npy")
    assert mask.shape == raw.shape and mask.dtype == np.uint8
    mlflow.set_tracking_uri(trained["uri"])
    here = mlflow.pyfunc.load_model(uri)
    np.testing.assert_array_equal(mask, here.predict(raw))
    probs = np.load(tmp_path / "probs.npy")
    assert probs.shape == (40, 50) and probs.dtype == np.float32 and 0 <= probs.min() <= probs.max() <= 1
    served = json.loads((tmp_path / "served.json").read_text())["predictions"]
    # JSON makes the uint16 image int64: the model takes it back to the training files' type
    assert np.array_equal(np.array(served["a"], dtype=np.uint8), mask)
    assert np.array(served["b"]).shape == (40, 50)


def _run_dir(trained: dict[str, Any]) -> Path:
    return Path(trained["run"].data.tags["rudratune.run_dir"])


@pytest.mark.slow
def test_onnx_of_a_train_run_matches_torch_at_other_sizes(trained: dict[str, Any], tmp_path: Path) -> None:
    """ONNX Runtime on the exported file agrees with the pt2 network at sizes other than the training one."""
    import onnxruntime as ort
    import torch

    path = tmp_path / "net.onnx"
    env = {"MLFLOW_TRACKING_URI": trained["uri"]}
    result = cli("export", str(_run_dir(trained)), "--onnx", str(path), env=env, timeout=1800)
    assert result.returncode == 0, result.stderr
    assert "dynamic height and width" in result.stdout and "max |diff|" in result.stdout
    doc = json.loads((tmp_path / "net.onnx.json").read_text())
    assert doc["image_size"] == 64 and doc["decoding"]["channels"] == 1 and doc["input"]["name"] == "image"
    assert "Resize to 64 x 64" in (tmp_path / "net.onnx.txt").read_text()
    assert not (tmp_path / "net.onnx.data").exists()  # the weights are inside the one file

    import mlflow
    import mlflow.artifacts

    mlflow.set_tracking_uri(trained["uri"])
    model = trained["client"].get_logged_model(
        trained["run"].data.tags["rudratune.pyfunc_uri"].split("/")[-1]
    )
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{model.artifact_location}/artifacts", dst_path=str(tmp_path / "m")
    )
    net = torch.export.load(f"{local}/network.pt2").module()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.rand(3, 1, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = torch.sigmoid(net(x)).numpy()
    (logits,) = session.run(["logits"], {"image": x.numpy()})
    assert np.abs(1 / (1 + np.exp(-logits)) - expected).max() <= 1e-4


@pytest.mark.slow
def test_register_a_train_run_in_the_model_registry(trained: dict[str, Any]) -> None:
    """The registered version's source is the served pyfunc model, loadable by ``models:/NAME/1``."""
    import mlflow
    import mlflow.pyfunc

    env = {"MLFLOW_TRACKING_URI": trained["uri"]}
    result = cli("export", str(_run_dir(trained)), "--register", "pores-unet", env=env)
    assert result.returncode == 0, result.stderr
    assert "models:/pores-unet/1" in result.stdout
    client = trained["client"]
    version = client.get_model_version("pores-unet", "1")
    pyfunc_uri = trained["run"].data.tags["rudratune.pyfunc_uri"]
    assert version.source == pyfunc_uri and version.run_id == trained["run"].info.run_id
    mlflow.set_tracking_uri(trained["uri"])
    mask = mlflow.pyfunc.load_model("models:/pores-unet/1").predict(_raw((33, 47)))
    assert mask.shape == (33, 47) and mask.dtype == np.uint8


@pytest.mark.slow
def test_predict_takes_model_uris_and_folders_like_the_run(
    trained: dict[str, Any], tiny_data: Path, tmp_path: Path
) -> None:
    """Acceptance (issue 17): ``rudratune predict`` on a registered model (version, alias), the logged model's
    own URI (``models:/m-…``, the run's tag) and a model folder,
    on images of mixed sizes, without a tracking URI in the environment (the store under --output-root):
    masks at each image's own size, as the train run folder predicts them."""
    import mlflow
    from PIL import Image

    images = tmp_path / "new"
    images.mkdir()
    for i, (h, w) in enumerate([(64, 64), (45, 77), (120, 96)]):
        source = Image.open(sorted((tiny_data / "images").iterdir())[i])
        source.resize((w, h), Image.BILINEAR).save(images / f"img{i}.png")
    run = trained["run"]
    pyfunc_uri = run.data.tags["rudratune.pyfunc_uri"]
    mlflow.set_tracking_uri(trained["uri"])
    mlflow.register_model(pyfunc_uri, "pores-predict")
    MlflowClient(tracking_uri=trained["uri"]).set_registered_model_alias("pores-predict", "served", "1")
    folder = tmp_path / "model"
    mlflow.artifacts.download_artifacts(artifact_uri=f"{pyfunc_uri}", dst_path=str(folder))
    root = str(trained["out"])

    def masks(source: str, name: str) -> dict[str, np.ndarray]:
        out = tmp_path / name
        result = cli("--output-root", root, "predict", source, str(images), "-o", str(out), "-q")
        assert result.returncode == 0, result.stderr
        assert f"with MLflow model {source}" in result.stdout or source == str(_run_dir(trained))
        return {p.stem: np.asarray(Image.open(p)) for p in sorted((out / "masks").iterdir())}

    reference = masks(str(_run_dir(trained)), "from-run")
    assert {k: v.shape for k, v in reference.items()} == {
        "img0": (64, 64),
        "img1": (45, 77),
        "img2": (120, 96),
    }
    for i, source in enumerate(
        ["models:/pores-predict/1", "models:/pores-predict@served", pyfunc_uri, str(folder)]
    ):
        got = masks(source, f"from-uri-{i}")
        for stem, mask in reference.items():
            assert got[stem].shape == mask.shape
            # the served network is the exported program of the same weights: a pixel at 0.5 may flip
            assert (got[stem] == mask).mean() >= 0.99, (source, stem)
