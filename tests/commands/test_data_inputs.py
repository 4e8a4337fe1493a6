"""Data inputs that must work (issue 12 items 1 and 12): a space over two data folders, and the published
recipe on 15 pairs (a training split of 9 with batch 8 would end in a batch of one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rudratune.cli import main
from rudratune.config.experiment import load_experiment
from rudratune.data.folder import load_folder
from rudratune.train.loop import RunOptions, train
from tests.data.test_decode import disks, write_tiffs
from tests.helpers import EXPERIMENT, cli, read_rows

pytestmark = pytest.mark.slow

CONSTANTS = {
    "data.image_size": 32,
    "data.batch_size": 4,
    "model.name": "monai.UNet",
    "trainer.max_epochs": 1,
    "trainer.threads": 1,
    "tracking.mlflow": False,
    "tracking.wandb": False,
}


def copy_pairs(src: Path, dst: Path, n: int) -> Path:
    for sub in ("images", "masks"):
        (dst / sub).mkdir(parents=True)
        for path in sorted((src / sub).iterdir())[:n]:
            shutil.copy(path, dst / sub / path.name)
    return dst


def test_recipe_trains_on_15_pairs(tiny_data: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_pairs(tiny_data, out.parent / "fifteen", 15)  # 9 / 3 / 3: the last batch of 8 holds one pair
    code = main(
        ["--output-root", str(out), "train", str(EXPERIMENT), "-q", f"data.root={root}", "data.image_size=64"]
        + ["trainer.max_epochs=1", "tracking.mlflow=false", "tracking.wandb=false"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "test_dice" in captured.out and "smp.DeepLabV3Plus" in load_experiment(EXPERIMENT).model.name


def test_space_over_two_folders_trains_each_trial_on_its_own(
    tmp_path: Path, tiny_data: Path, out: Path
) -> None:
    grey = copy_pairs(tiny_data, tmp_path / "grey", 12)  # 8-bit PNGs, 64 px
    tiffs = write_tiffs(tmp_path / "tiffs", *disks(12, 48))  # 16-bit TIFFs, 48 px
    space = tmp_path / "two.yaml"
    constants = "".join(f"  {k}: {{value: {json.dumps(v)}}}\n" for k, v in CONSTANTS.items())
    space.write_text(
        f"experiment: {EXPERIMENT}\nsearch: {{num_samples: 2, max_concurrent: 1, scheduler: {{name: fifo}}}}\n"
        f"resources: {{cpu: 1, gpu: 0}}\nspace:\n  data.root: {{grid: [{grey}, {tiffs}]}}\n{constants}"
    )
    result = cli("--output-root", str(out), "run", str(space), "--name", "two", "--no-report")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"data: {grey}: 12 pairs" in result.stdout and f"data: {tiffs}: 12 pairs" in result.stdout
    rows = read_rows(out / "two")
    assert sorted(r["data.root"] for r in rows) == sorted([str(grey), str(tiffs)])
    for row in rows:  # the same config trained here on that folder gives the trial's loss
        overrides = [f"{k}={v}" for k, v in CONSTANTS.items()] + [f"data.root={row['data.root']}"]
        cfg = load_experiment(EXPERIMENT, overrides)
        options = RunOptions(run_dir=tmp_path / "check", checkpoints=False, test=False, artifacts=False)
        here = train(cfg, load_folder(row["data.root"]), options).history[0]["val_loss"]
        assert abs(here - float(row["last_val_loss"])) <= 1e-4, (row, here)
    losses = [float(r["last_val_loss"]) for r in rows]
    assert abs(losses[0] - losses[1]) > 1e-3  # two datasets, two outcomes
