"""A sweep decodes each distinct dataset its space can reach, once, and a trial finds its own by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudratune.config.schema import DataConfig, IntensityConfig
from rudratune.data.source import dataset_key
from rudratune.errors import UserError
from rudratune.search.driver import data_configs, load_sweep_data
from rudratune.search.space import load_sweep
from tests.data.test_decode import disks, write_tiffs
from tests.helpers import EXPERIMENT


def sweep_over(tmp_path: Path, body: str):
    path = tmp_path / "space.yaml"
    path.write_text(f"experiment: {EXPERIMENT}\nspace:\n{body}")
    return load_sweep(path)


def test_each_distinct_dataset_is_decoded_once(tmp_path: Path, tiny_data: Path) -> None:
    tiffs = write_tiffs(tmp_path / "tiffs", *disks(10, 32))
    sweep = sweep_over(
        tmp_path,
        f"  data.root: {{grid: [{tiny_data}, {tiffs}]}}\n"
        "  data.intensity.mode: {values: [dtype, percentile]}\n"
        "  data.image_size: {values: [32, 64]}\n"  # resizing is per trial: not a new dataset
        "  optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}\n",
    )
    assert len({dataset_key(d) for d, _ in data_configs(sweep)}) == 4
    datasets = load_sweep_data(sweep, tmp_path / "out")
    assert len(datasets) == 4
    for root, n in ((tiny_data, 24), (tiffs, 10)):
        for mode in ("dtype", "percentile"):
            data = datasets[dataset_key(DataConfig(root=str(root), intensity=IntensityConfig(mode=mode)))]
            assert data.root == str(root) and len(data) == n
    assert not (
        tmp_path / "out"
    ).exists()  # no embedded set generated: the space never reaches data.root null


def test_every_reachable_split_is_checked(tmp_path: Path, tiny_data: Path) -> None:
    sweep = sweep_over(
        tmp_path, f"  data.root: {{value: {tiny_data}}}\n  data.val_fraction: {{values: [0.2, 0.01]}}\n"
    )
    with pytest.raises(
        UserError, match=r"24 pairs split into 20/0/4 train/val/test with data.val_fraction=0.01"
    ):
        load_sweep_data(sweep, tmp_path / "out")
