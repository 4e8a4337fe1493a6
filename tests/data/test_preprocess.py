"""rudratune/data/preprocess.py: one implementation of the decoding, numpy only, that reproduces training's
batches exactly from a raw array and a ``Decoding`` read back from JSON."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from rudratune.config.schema import DataConfig, IntensityConfig
from rudratune.data import preprocess
from rudratune.data.datamodule import SegDataModule
from rudratune.data.folder import load_folder
from rudratune.data.preprocess import Decoding
from tests.data.test_decode import disks, write_tiffs
from tests.helpers import REPO

MODULE = REPO / "rudratune" / "data" / "preprocess.py"


def test_module_imports_only_numpy_and_runs_without_rudratune(tmp_path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(MODULE.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "json", "dataclasses", "typing", "numpy"}, imported
    # loaded by path in a fresh interpreter whose sys.path cannot see rudratune, as a pyfunc model loads it
    copy = tmp_path / "preprocess_copy.py"
    copy.write_text(MODULE.read_text())
    script = (
        "import sys, importlib.util, numpy as np\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(copy)!r})\n"
        "p = importlib.util.module_from_spec(spec); sys.modules['p'] = p; spec.loader.exec_module(p)\n"
        "d = p.Decoding.from_json(p.Decoding('auto', 'dataset', 1, 'uint16', 1000.0, 3000.0).to_json())\n"
        "x = p.apply(d, np.array([[1000, 2000, 3000, 4000]], np.uint16))\n"
        "assert x.dtype == np.float32 and x.tolist() == [[[0.0], [0.5], [1.0], [1.0]]], x.tolist()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('rudratune', 'torch', 'PIL')]\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _native_batches(data, size: int) -> torch.Tensor:
    dm = SegDataModule(data, DataConfig(image_size=size, batch_size=64, val_fraction=0.2), seed=0)
    x, _ = next(iter(dm.batches("train")))
    return x, dm.names("train")


@pytest.mark.parametrize(
    ("dtype", "mode"),
    [
        ("uint16", "auto"),
        ("uint16", "dtype"),
        ("uint16", "percentile"),
        ("uint8", "auto"),
        ("float32", "auto"),
    ],
)
def test_apply_matches_training_batches_bit_for_bit(tmp_path: Path, dtype: str, mode: str) -> None:
    images, masks = disks(5, 32)
    if dtype == "uint8":
        images = [(i // 256).astype(np.uint8) for i in images]
    elif dtype == "float32":
        images = [i.astype(np.float32) / 1000 for i in images]  # counts in thousands: outside [0, 1]
    root = write_tiffs(tmp_path / "d", images, masks)
    data = load_folder(root, IntensityConfig(mode=mode))
    decoding = Decoding.from_json(data.decoding.to_json())  # what decoding.json gives back
    assert decoding == data.decoding
    x, names = _native_batches(data, 32)  # native size: no resize between store and unit
    for row, name in zip(x, names, strict=True):
        raw = tifffile.imread(root / "images" / f"{name}.tif")
        expected = preprocess.apply(decoding, raw)
        assert expected.dtype == np.float32 and expected.shape == (32, 32, 1)
        assert np.array_equal(row.permute(1, 2, 0).numpy(), expected), name


def test_apply_takes_any_size_grey_or_rgb() -> None:
    grey = Decoding("auto", "dataset", 1, "uint16", 100.0, 200.0)
    assert preprocess.apply(grey, np.full((7, 3), 150, np.uint16)).shape == (7, 3, 1)
    colour = Decoding("auto", "range", 3, "uint8")
    out = preprocess.apply(colour, np.full((5, 9, 4), 255, np.uint8))  # RGBA: alpha dropped
    assert out.shape == (5, 9, 3) and (out == 1).all()
    assert preprocess.apply(colour, np.zeros((4, 4), np.uint8)).shape == (4, 4, 3)  # grey repeated
    with pytest.raises(ValueError, match="colour image"):
        preprocess.apply(grey, np.zeros((4, 4, 3), np.uint8))
    signed = Decoding("dtype", "range", 1, "int16")
    assert preprocess.apply(signed, np.array([[-32768, 32767]], np.int16)).ravel().tolist() == [0.0, 1.0]


def test_storage_is_the_own_type_and_lossless(tmp_path: Path) -> None:
    half = np.arange(64, dtype=np.float32).reshape(8, 8) / 4  # exact in float16
    assert preprocess.narrow(half).dtype == np.float16
    assert preprocess.narrow(half + 1e-4).dtype == np.float32  # float16 would round: kept float32
    assert preprocess.narrow(np.array([0, 65535], np.uint32)).dtype == np.uint16
    assert preprocess.narrow(np.array([-5, 70000], np.int64)).dtype == np.int32
    images, masks = disks(4, 32)
    data = load_folder(write_tiffs(tmp_path / "d", images, masks))
    assert data.nbytes == 4 * 32 * 32 * 2 + 4 * 32 * 32 // 8  # uint16 images, 1-bit masks
    for raw, stored, mask, truth in zip(images, data.images, data.masks, masks, strict=True):
        assert stored.dtype == np.uint16 and np.array_equal(stored[..., 0], raw)
        assert mask.dtype == bool and np.array_equal(mask, truth > 0)


def test_palette_mask_png_counts_brightness_not_index(tmp_path: Path) -> None:
    """Issue 21: index 0 white (foreground, 8 %), index 1 black: the index rule made it 92 % foreground."""
    root = tmp_path / "d"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    mask = np.ones((50, 50), np.uint8)
    mask[:10, :20] = 0  # 200 of 2,500 pixels: 8 %
    img = Image.fromarray(mask, "P")
    img.putpalette([255, 255, 255, 0, 0, 0])
    img.save(root / "masks" / "a.png")
    Image.fromarray(np.arange(2500, dtype=np.uint16).reshape(50, 50).astype(np.uint8)).save(
        root / "images" / "a.png"
    )
    (decoded,) = load_folder(root).masks
    assert decoded.mean() == pytest.approx(0.08) and decoded[:10, :20].all()
