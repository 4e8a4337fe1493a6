from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rudratune.config.schema import DataConfig
from rudratune.data.datamodule import SegDataModule, to_tensors
from rudratune.data.folder import load_folder
from rudratune.data.split import split_indices
from rudratune.errors import UserError


def make_pair(
    root: Path, stem: str, *, image_ext: str = ".png", mask_ext: str = ".png", size=(20, 16), value: int = 100
) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0]), value, np.uint8)).save(root / "images" / f"{stem}{image_ext}")
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[: value % size[1]] = 255
    Image.fromarray(mask).save(root / "masks" / f"{stem}{mask_ext}")


def test_pairs_by_stem_not_by_sorted_order(tmp_path: Path) -> None:
    make_pair(tmp_path, "b", image_ext=".jpg", mask_ext=".png", value=7)
    make_pair(tmp_path, "a", image_ext=".tif", mask_ext=".bmp", value=3)
    make_pair(tmp_path, "c", image_ext=".png", mask_ext=".tiff", value=11)
    data = load_folder(tmp_path)
    assert data.names == ("a", "b", "c")
    for i, (name, image, mask) in enumerate(zip(data.names, data.images, data.masks, strict=True)):
        value = {"a": 3, "b": 7, "c": 11}[name]
        assert image.shape == (16, 20, 1) and image.dtype == np.uint8  # grey stays one channel, own type
        assert abs(int(image[0, 0, 0]) - value) <= 2  # jpg is lossy
        assert data.unit(i)[0, 0, 0] == np.float32(image[0, 0, 0]) * np.float32(1 / 255)  # 8-bit: / 255
        assert mask.dtype == bool and mask.sum() == value * 20


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda r: None, "no such folder"),
        (lambda r: (r.mkdir(), (r / "images").mkdir(), (r / "masks").mkdir()), "hold no images"),
        (lambda r: (make_pair(r, "x"), (r / "masks" / "x.png").unlink()), "image without a mask: "),
        (
            lambda r: (make_pair(r, "x"), (r / "images" / "x.png").unlink(), make_pair(r, "y")),
            "mask without an image: ",
        ),
        (
            lambda r: (make_pair(r, "x"), (r / "images" / "x.png").write_bytes(b"not a png")),
            "cannot read image",
        ),
        (
            lambda r: (make_pair(r, "x"), Image.new("L", (5, 5)).save(r / "masks" / "x.png")),
            "size mismatch: ",
        ),
    ],
)
def test_bad_folders_are_named(tmp_path: Path, setup, needle: str) -> None:
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(UserError) as err:
        load_folder(root)
    assert needle in str(err.value)
    assert str(root) in str(err.value)


def test_unpaired_file_is_named(tmp_path: Path) -> None:
    make_pair(tmp_path, "x")
    make_pair(tmp_path, "y")
    (tmp_path / "masks" / "y.png").rename(tmp_path / "masks" / "z.png")
    with pytest.raises(UserError, match=r"image without a mask: .*images/y.png"):
        load_folder(tmp_path)


def test_published_split_sizes_and_determinism() -> None:
    train, val, test = split_indices(128, seed=42)
    assert (len(train), len(val), len(test)) == (78, 25, 25)
    assert sorted(train + val + test) == list(range(128))
    assert (train, val, test) == split_indices(128, seed=42)
    assert split_indices(128, seed=1) != (train, val, test)
    assert [len(s) for s in split_indices(10)] == [6, 2, 2]


def test_datamodule_resizes_once(tiny_data: Path) -> None:
    data = load_folder(tiny_data)
    dm = SegDataModule(data, DataConfig(image_size=32, batch_size=4), seed=42)
    dm.setup()
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (4, 1, 32, 32) and y.shape == (4, 1, 32, 32)  # grey data: one channel
    assert x.min() >= 0 and x.max() <= 1 and set(torch.unique(y).tolist()) <= {0.0, 1.0}
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [16, 4, 4]


def test_imagenet_normalization(tiny_data: Path) -> None:
    data = load_folder(tiny_data).subset([0, 1])
    plain, _ = to_tensors(data, 32)
    norm, _ = to_tensors(data, 32, "imagenet")
    mean, std = (0.485 + 0.456 + 0.406) / 3, (0.229 + 0.224 + 0.225) / 3  # grey: ImageNet's mean statistics
    assert torch.allclose(norm[:, 0] * std + mean, plain[:, 0], atol=1e-5)
