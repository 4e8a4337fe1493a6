"""The validated ensemble on a real tiny sweep: the export compares candidates on validation data only and
writes a file ``predict`` takes; a sweep folder predicts with its best trial or its ensemble; a sweep that
kept no weights names ``checkpoints.keep_top_trials``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from rudratune.cli import main
from rudratune.inference import load_source, probabilities
from rudratune.inference.ensemble import NOISE_SE, Candidate, pick
from tests.helpers import files_under, tiny_space

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    space = tiny_space(tmp, tiny_data, num_samples=4, epochs=3)
    code = main(
        ["--output-root", str(tmp / "runs"), "run", str(space), "--name", "sw", "--no-report"]
        + ["tracking.mlflow=false", "tracking.wandb=false"]
    )
    assert code == 0
    return tmp / "runs" / "sw"


def test_sweep_records_its_decoding(sweep: Path) -> None:
    (decoding,) = json.loads((sweep / "decodings.json").read_text()).values()
    assert decoding["channels"] == 1 and decoding["source_dtype"] == "uint8"


def test_export_ensemble_and_predict_with_it(sweep: Path, tiny_data: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(sweep), "--ensemble", "3"]) == 0
    printed = capsys.readouterr().out
    content = yaml.safe_load((sweep / "ensemble.yaml").read_text())
    kept = content["kept_weights"]
    assert len(content["comparison"]) == 2 * min(3, kept)  # 1..K members, each without and with TTA
    assert "<- chosen" in printed and content["rule"] in printed
    chosen = content["choice"]
    assert len(content["members"]) == chosen["members"] and content["tta"] == chosen["tta"]
    assert chosen == pick([Candidate(**c) for c in content["comparison"]]).__dict__

    new = tmp_path / "new"  # new images of mixed sizes (acceptance): masks come out at each one's size
    new.mkdir()
    images = []
    sizes = [(64, 64), (45, 77), (120, 96)]
    for path, (h, w) in zip(sorted((tiny_data / "images").iterdir())[:3], sizes, strict=True):
        Image.open(path).resize((w, h), Image.BILINEAR).save(new / path.name)
        images.append(new / path.name)
    out = tmp_path / "pred"
    assert main(["predict", str(sweep), str(new), "-o", str(out), "--quiet"]) == 0
    record = json.loads((out / "predict.json").read_text())
    assert len(record["members"]) == chosen["members"] and record["tta"] == chosen["tta"]
    # what was written is the average of the members' own probabilities
    predictor = load_source(sweep / "ensemble.yaml")
    raws = [np.asarray(Image.open(p)) for p in images]
    expected = probabilities(predictor, raws)
    for path, p in zip(images, expected, strict=True):
        mask = np.asarray(Image.open(out / "masks" / f"{path.stem}.png"))
        assert mask.shape == np.asarray(Image.open(path)).shape[:2]
        assert np.array_equal(mask > 0, p > 0.5)


def test_best_trial_of_a_sweep(sweep: Path, tiny_data: Path, tmp_path: Path) -> None:
    image = sorted((tiny_data / "images").iterdir())[0]
    out = tmp_path / "pred"
    assert main(["predict", str(sweep), str(image), "-o", str(out), "--best", "--quiet"]) == 0
    (member,) = json.loads((out / "predict.json").read_text())["members"]
    rows = json.loads((sweep / "results.json").read_text())
    rows = rows["trials"] if isinstance(rows, dict) else rows
    best = max((r for r in rows if r.get("checkpoint")), key=lambda r: r["best_val_dice"])
    assert Path(member["checkpoint"]).parent == Path(best["checkpoint"])


def test_noise_rule() -> None:
    def c(n: int, tta: bool, gain: float, se: float) -> Candidate:
        return Candidate(n, tta, n * (4 if tta else 1), 0.5 + gain, gain, se, gain > NOISE_SE * se and n > 1)

    assert pick([c(1, False, 0, 0), c(2, False, 0.01, 0.01)]).members == 1  # within noise: the single trial
    assert pick([c(1, False, 0, 0), c(2, False, 0.03, 0.01), c(3, False, 0.05, 0.01)]).members == 2


def test_sweep_without_weights(sweep: Path, tmp_path: Path, tiny_data: Path, capsys) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("sweep.json", "results.json", "results.csv", "decodings.json"):
        if (sweep / name).exists():
            (bare / name).write_text((sweep / name).read_text().replace(str(sweep), str(tmp_path / "gone")))
    settings = json.loads((bare / "sweep.json").read_text())
    settings["settings"]["checkpoints"]["keep_top_trials"] = 0
    (bare / "sweep.json").write_text(json.dumps(settings))
    before = files_under(tmp_path)
    image = str(sorted((tiny_data / "images").iterdir())[0])
    for argv in (
        ["predict", str(bare), image, "-o", str(tmp_path / "pred")],
        ["export", str(bare), "--ensemble", "3"],
    ):
        assert main(argv) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert "no trial of this sweep kept its weights (checkpoints.keep_top_trials was 0)" in line
    assert files_under(tmp_path) == before
