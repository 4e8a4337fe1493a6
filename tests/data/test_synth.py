from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rudratune.data.baseline import otsu_dice, otsu_threshold
from rudratune.data.split import split_indices
from rudratune.data.synth import generate_pair, write_dataset


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.png"))
    }


def test_generate_pair_is_deterministic() -> None:
    a_img, a_mask = generate_pair(3, seed=7, size=64)
    b_img, b_mask = generate_pair(3, seed=7, size=64)
    assert a_img.dtype == np.uint8 and a_mask.dtype == np.uint8
    assert a_img.shape == a_mask.shape == (64, 64)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
    c_img, _ = generate_pair(4, seed=7, size=64)
    assert not np.array_equal(a_img, c_img)


def test_write_dataset_is_byte_identical(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a", n=4, seed=1, size=64)
    b = write_dataset(tmp_path / "b", n=4, seed=1, size=64)
    da, db = _digests(a), _digests(b)
    names = [f"sem_{i:03d}.png" for i in range(4)]
    assert sorted(da) == sorted([f"images/{n}" for n in names] + [f"masks/{n}" for n in names])
    assert da == db
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    with Image.open(a / "images" / "sem_000.png") as im:
        assert im.mode == "L" and im.size == (64, 64)


def test_write_dataset_refuses_non_empty(tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    write_dataset(out, n=1, size=64)
    with pytest.raises(FileExistsError):
        write_dataset(out, n=1, size=64)


@pytest.mark.parametrize("size", [64, 256])
def test_masks_binary_and_empty_under_info_bar(size: int) -> None:
    bar = round(0.07 * size)
    for i in range(4):
        image, mask = generate_pair(i, size=size)
        assert set(np.unique(mask).tolist()) <= {0, 255}
        assert not mask[size - bar :].any()
        assert image[size - bar :].mean() < 80


def test_foreground_fraction_bounds() -> None:
    fractions = [(generate_pair(i)[1] > 0).mean() for i in range(8)]
    assert all(0.009 <= f <= 0.32 for f in fractions)


def test_otsu_threshold_separates_two_levels() -> None:
    image = np.full((10, 10), 200, np.uint8)
    image[:3] = 20
    t = otsu_threshold(image)
    assert 20 <= t < 200
    assert otsu_dice([image], [(image == 20).astype(np.uint8) * 255]) == 1.0
    assert otsu_dice([image], [np.zeros_like(image)]) == 0.0


def test_otsu_fails_on_test_split() -> None:
    _, _, test = split_indices(128, seed=42)
    pairs = [generate_pair(i, seed=42, size=256) for i in test]
    score = otsu_dice([p[0] for p in pairs], [p[1] for p in pairs])
    assert score <= 0.55
