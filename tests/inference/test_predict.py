"""``rudratune predict`` on a real train run: its masks reproduce the run's test Dice, every output it
offers is written, and every bad input ends in one line, exit 2 and no output folder."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
import torch
import torch.nn.functional as F
from mlflow.pyfunc import PythonModel
from PIL import Image

from rudratune.api import predict, train_experiment
from rudratune.cli import main
from rudratune.data.decode import read
from rudratune.errors import UserError
from rudratune.inference import at_training_size, load_source, probabilities, tiled
from rudratune.inference.ensemble import dice, split_files
from tests.helpers import EXPERIMENT, REPO, files_under, tiny_overrides


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    """One real `rudratune train` run (32 px, 2 epochs) shared by the module."""
    root = tmp_path_factory.mktemp("runs")
    overrides = [*tiny_overrides(tiny_data), "tracking.mlflow=false", "tracking.wandb=false"]
    return train_experiment(EXPERIMENT, overrides, output_root=root)


def test_run_folder_has_what_predict_needs(run_dir: Path) -> None:
    assert {"config.yaml", "decoding.json", "checkpoints"} <= {p.name for p in run_dir.iterdir()}


def test_predict_reproduces_the_runs_test_dice(run_dir: Path, tmp_path: Path) -> None:
    """At the training size, predict's masks give the run's own test Dice (|diff| <= 1e-3); at the images'
    own size the Dice is reported and the masks have the images' size."""
    member = load_source(run_dir).members[0]
    files, masks = split_files(member, "test", "unused")
    size = member.image_size
    probs = at_training_size(member, [read(f) for f in files])
    small = [
        F.interpolate(torch.from_numpy(m.astype(np.uint8))[None, None], size=(size, size), mode="nearest")[
            0, 0
        ]
        for m in masks
    ]
    at_training = np.mean(
        [dice(p[0].numpy() > 0.5, s.numpy() > 0) for p, s in zip(probs, small, strict=True)]
    )
    expected = json.loads((run_dir / "artifacts" / "metrics.json").read_text())["test"]["test_dice"]
    assert abs(at_training - expected) <= 1e-3, (at_training, expected)

    out = predict(run_dir, files, tmp_path / "pred")
    written = [np.asarray(Image.open(out / "masks" / f"{f.stem}.png")) for f in files]
    assert all(w.shape == m.shape for w, m in zip(written, masks, strict=True))
    assert set(np.unique(np.concatenate([w.ravel() for w in written]))) <= {0, 255}
    own = np.mean([dice(w > 0, m) for w, m in zip(written, masks, strict=True)])
    print(f"test Dice: run {expected:.6f}, predict at training size {at_training:.6f}, at own size {own:.6f}")
    assert abs(own - at_training) < 0.1  # same network, only the resize differs


def test_every_output(run_dir: Path, tiny_data: Path, tmp_path: Path) -> None:
    out = predict(
        run_dir,
        tiny_data / "images",
        tmp_path / "pred",
        format="tiff",
        probabilities=True,
        overlay=True,
        pixel_size="2nm",
    )
    images = sorted((tiny_data / "images").iterdir())
    mask = tifffile.imread(out / "masks" / f"{images[0].stem}.tif")
    prob = tifffile.imread(out / "probabilities" / f"{images[0].stem}.tif")
    assert mask.shape == prob.shape == read(images[0]).shape[:2]
    assert prob.dtype == np.float32 and 0 <= prob.min() <= prob.max() <= 1
    assert np.array_equal(mask == 255, prob > 0.5)
    picture = np.asarray(Image.open(out / "overlays" / f"{images[0].stem}.png"))
    red = (picture == (255, 0, 0)).all(-1)
    assert picture.shape[-1] == 3 and (red.any() == (mask > 0).any()) and not (red & (mask == 0)).any()
    with (out / "measurements.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["image"] for r in rows] == [p.name for p in images]
    assert float(rows[0]["foreground_fraction"]) == pytest.approx((mask > 0).mean(), abs=1e-6)
    assert (out / "objects.csv").is_file() and (out / "size_histogram.png").is_file()
    assert json.loads((out / "predict.json").read_text())["images"] == len(images)


def test_16bit_png_probabilities(run_dir: Path, tiny_data: Path, tmp_path: Path) -> None:
    image = sorted((tiny_data / "images").iterdir())[0]
    out = predict(run_dir, image, tmp_path / "pred", probabilities=True)
    prob = np.asarray(Image.open(out / "probabilities" / f"{image.stem}.png"))
    mask = np.asarray(Image.open(out / "masks" / f"{image.stem}.png"))
    assert prob.dtype == np.uint16 and np.array_equal(prob > 32767, mask == 255)


def test_force_replaces_a_non_empty_output(run_dir: Path, tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred"
    out.mkdir()
    (out / "old.txt").write_text("x")
    image = sorted((tiny_data / "images").iterdir())[0]
    predict(run_dir, image, out, force=True)
    assert not (out / "old.txt").exists() and (out / "masks" / f"{image.stem}.png").is_file()


def _bad(case: str, run_dir: Path, data: Path, tmp: Path) -> list[str]:
    """The command line of one bad-input case; its files are made under ``tmp``."""
    image = str(sorted((data / "images").iterdir())[0])
    out = str(tmp / "pred")
    if case == "unreadable image":
        (tmp / "broken.png").write_bytes(b"not a png")
        return [str(run_dir), image, str(tmp / "broken.png"), "-o", out]
    if case == "colour image for a grey network":
        Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp / "colour.png")
        return [str(run_dir), str(tmp / "colour.png"), "-o", out]
    if case == "empty image folder":
        (tmp / "empty").mkdir()
        return [str(run_dir), str(tmp / "empty"), "-o", out]
    if case == "run with no checkpoint left":
        bare = tmp / "bare-run"
        bare.mkdir()
        for name in ("config.yaml", "decoding.json"):
            shutil.copy(run_dir / name, bare / name)
        (bare / "checkpoints").mkdir()
        return [str(bare), image, "-o", out]
    if case == "output inside the source":
        return [str(run_dir), image, "-o", str(run_dir / "pred")]
    if case == "output not empty":
        (tmp / "pred").mkdir()
        (tmp / "pred" / "keep.txt").write_text("x")
        return [str(run_dir), image, "-o", out]
    if case == "not a source":
        return [str(tmp), image, "-o", out]
    raise AssertionError(case)


BAD = {
    "unreadable image": "IMAGES: cannot read image {tmp}/broken.png",
    "colour image for a grey network": "IMAGES: {tmp}/colour.png is a colour image; the network was trained on "
    "1-channel (grey) images",
    "empty image folder": "IMAGES: {tmp}/empty holds no images",
    "run with no checkpoint left": "{tmp}/bare-run: no checkpoint left in {tmp}/bare-run/checkpoints",
    "output inside the source": "-o: {run}/pred is inside {run}, the source's own folder",
    "output not empty": "-o: {tmp}/pred exists and is not empty; pass --force to replace it",
    "not a source": "SOURCE: {tmp} is none of: a train run folder",
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input(
    case: str, run_dir: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _bad(case, run_dir, tiny_data, tmp_path)
    before, run_before = files_under(tmp_path), files_under(run_dir)
    code = main(["predict", *args, "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert BAD[case].format(tmp=tmp_path, run=run_dir) in lines[0], lines[0]
    assert files_under(tmp_path) == before and files_under(run_dir) == run_before  # nothing half-written


def test_api_raises_user_error(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError):
        predict(run_dir, tmp_path / "missing.png", tmp_path / "pred")


def test_bad_inputs_are_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for case in [*BAD, *MLFLOW_BAD]:
        assert f"| {case} |" in doc, case


def test_the_api_function_is_not_shadowed_by_a_package() -> None:
    """``rudratune.predict`` is the function, also after the CLI imported the inference package."""
    import rudratune
    import rudratune.api
    import rudratune.inference  # noqa: F401

    assert "predict" in rudratune.__all__ and rudratune.predict is rudratune.api.predict


def test_tiles(run_dir: Path, tiny_data: Path) -> None:
    """A tile as large as the image is the whole image; smaller tiles cover every pixel at its own size."""
    predictor = load_source(run_dir)
    raw = read(sorted((tiny_data / "images").iterdir())[0])
    whole = probabilities(predictor, [raw])[0]
    assert np.array_equal(tiled(predictor, raw, 64), whole)
    small = tiled(predictor, raw, 40)  # tiles at 0 and 24: the overlap averaged
    assert small.shape == whole.shape and not np.array_equal(small, whole)


class _NotOurs(PythonModel):  # type: ignore[misc]
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return model_input


MLFLOW_BAD = ["model URI with no store", "MLflow model rudratune did not serve"]


@pytest.mark.parametrize("case", MLFLOW_BAD)
def test_bad_mlflow_source(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/gone/mlflow.db")
    image = tmp_path / "img.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(image)
    if case == "model URI with no store":
        source, expected = (
            "models:/pores/1",
            f"SOURCE: models:/pores/1: no MLflow store at sqlite:///{tmp_path}/gone",
        )
    else:
        import mlflow.pyfunc

        mlflow.pyfunc.save_model(str(tmp_path / "model"), python_model=_NotOurs())
        source, expected = (
            str(tmp_path / "model"),
            f"SOURCE: {tmp_path}/model is not a model rudratune served",
        )
    before = files_under(tmp_path)
    capsys.readouterr()  # MLflow's own warning while the test saved its model
    code = main(["predict", source, str(image), "-o", str(tmp_path / "pred"), "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert expected in lines[0], lines[0]
    assert files_under(tmp_path) == before
