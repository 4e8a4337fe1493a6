"""The decoding rules (rudratune/data/decode.py) on real files: 16-bit and float TIFFs, 16-bit PNGs, colour,
masks saved as JPEG, palette and 0/1 masks, decompression bombs, and the checks on splits and memory."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from rudratune.config.schema import DataConfig, IntensityConfig
from rudratune.data.checks import check_memory, check_split, drop_last_single
from rudratune.data.folder import SegmentationData, load_folder
from rudratune.data.split import split_indices
from rudratune.errors import UserError


def disks(n: int, size: int = 48, *, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Bright disks on a noisy grey background, as a 16-bit SEM detector writes them (values 8k..50k)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, masks = [], []
    for _ in range(n):
        mask = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.uniform(8, size - 8, 2).tolist() + [rng.uniform(4, 9)]
            mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        image = rng.normal(12000, 2500, (size, size)) + mask * 26000
        images.append(np.clip(image, 0, 65535).astype(np.uint16))
        masks.append(mask.astype(np.uint8) * 255)
    return images, masks


def write_tiffs(root: Path, images: list[np.ndarray], masks: list[np.ndarray]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, (image, mask) in enumerate(zip(images, masks, strict=True)):
        tifffile.imwrite(root / "images" / f"im{i:02d}.tif", image)
        Image.fromarray(mask).save(root / "masks" / f"im{i:02d}.png")
    return root


def test_uint16_tiff_keeps_order_and_range(tmp_path: Path) -> None:
    images, masks = disks(4)
    data = load_folder(write_tiffs(tmp_path / "d", images, masks), IntensityConfig(mode="dtype"))
    assert data.channels == 1
    assert all(a.dtype == np.uint16 for a in data.images)  # kept in its own type
    for i, raw in enumerate(images):
        decoded = data.unit(i)
        assert decoded.dtype == np.float32 and decoded.shape == (*raw.shape, 1)
        np.testing.assert_allclose(decoded[..., 0], raw / 65535, rtol=1e-6)  # the dtype rule, exactly
        order = np.argsort(raw, axis=None, kind="stable")
        assert np.all(np.diff(decoded[..., 0].ravel()[order]) >= 0)  # intensity order kept
    # Pillow's RGB conversion saturated these: 8-bit clipping would make nearly every pixel 1.0
    assert np.mean(np.concatenate([data.unit(i).ravel() for i in range(len(data))]) >= 254 / 255) < 0.01


def test_lzw_tiff_falls_back_to_pillow_in_16_bits(tmp_path: Path) -> None:
    images, masks = disks(2)
    root = write_tiffs(tmp_path / "d", images, masks)
    Image.fromarray(images[0]).save(
        root / "images" / "im00.tif", compression="tiff_lzw"
    )  # no codec in tifffile
    with pytest.raises(ValueError, match="imagecodecs"):
        tifffile.imread(root / "images" / "im00.tif")
    decoded = load_folder(root, IntensityConfig(mode="dtype")).unit(0)
    np.testing.assert_allclose(decoded[..., 0], images[0] / 65535, rtol=1e-6)


def test_percentile_mode_stretches_each_image(tmp_path: Path) -> None:
    images, masks = disks(2)
    root = write_tiffs(tmp_path / "d", images, masks)
    data = load_folder(root, IntensityConfig(mode="percentile", low=1, high=99))
    for i, raw in enumerate(images):
        decoded = data.unit(i)
        lo, hi = np.percentile(raw, [1, 99])
        np.testing.assert_allclose(decoded[..., 0], np.clip((raw - lo) / (hi - lo), 0, 1), atol=1e-5)
        assert decoded.min() == 0 and decoded.max() == 1


def test_16bit_png_float_tiff_and_colour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "d"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    ramp = np.linspace(0, 65535, 16 * 16).astype(np.uint16).reshape(16, 16)
    Image.fromarray(ramp).save(root / "images" / "a.png")  # a 16-bit PNG
    tifffile.imwrite(root / "images" / "b.tif", np.linspace(-3, 5, 256, dtype=np.float32).reshape(16, 16))
    rgb = np.zeros((16, 16, 4), np.uint8)
    rgb[..., 0], rgb[..., 3] = 200, 255
    Image.fromarray(rgb, "RGBA").save(root / "images" / "c.png")
    for name in "abc":
        Image.fromarray(np.eye(16, dtype=np.uint8) * 255).save(root / "masks" / f"{name}.png")
    data = load_folder(root, IntensityConfig(mode="dtype"))
    assert data.channels == 3  # one colour image makes the set colour; grey images are repeated
    a, b, c = (data.unit(i) for i in range(3))
    np.testing.assert_allclose(a[..., 0], ramp / 65535, rtol=1e-6)
    assert (a[..., 0] == a[..., 2]).all()
    assert b.min() == 0 and b.max() == 1  # a float image outside [0, 1] is stretched, and said so
    np.testing.assert_allclose(c[0, 0], [200 / 255, 0, 0], rtol=1e-6)  # alpha dropped
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"rudratune: warning: data.root: {root}: float images leave [0, 1] (e.g. {root}/images/b.tif); "
        "data.intensity.mode: dtype stretched them from the dataset's finite min and max; valid modes: auto "
        "(default), dtype, percentile"
    )


def _save_mask(root: Path, name: str, mask: np.ndarray, **kw: object) -> None:
    ramp = np.arange(mask.size, dtype=np.uint8).reshape(
        mask.shape
    )  # not one flat value (that is warned about)
    Image.fromarray(ramp).save(root / "images" / f"{name}.png")
    Image.fromarray(mask).save(root / "masks" / f"{name}{kw.pop('ext', '.png')}", **kw)


def test_mask_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "d"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[:64, :64]
    square = (((yy - 30.5) ** 2 + (xx - 27.3) ** 2 < 15**2) * 255).astype(
        np.uint8
    )  # a disk, off the 8x8 grid
    _save_mask(root, "jpeg", square, ext=".jpg", quality=60)  # ringing around the edges
    _save_mask(root, "one", (square > 0).astype(np.uint8))  # 0/1 index mask
    _save_mask(root, "faint", (square > 0).astype(np.uint8) * 60)  # two values: the larger is foreground
    _save_mask(root, "wide", (square > 0).astype(np.uint16) * 65535)  # 16-bit
    data = load_folder(root)
    truth = square > 0
    by_name = dict(zip(data.names, data.masks, strict=True))
    for name in ("one", "faint", "wide"):
        assert (by_name[name] == truth).all(), name
    jpeg = by_name["jpeg"]
    assert abs(int(jpeg.sum()) - int(truth.sum())) <= 0.02 * truth.sum()  # > 127, not > 0
    raw = np.asarray(Image.open(root / "masks" / "jpeg.jpg"))
    assert (raw > 0).sum() > 1.1 * truth.sum()  # what "> 0" made of it: ringing became foreground
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rudratune: warning: data.root: 1 mask(s) have more than two values")
    assert "jpeg.jpg" in line and "> 127" in line


def test_palette_mask_keeps_its_indices(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    mask = Image.fromarray(np.eye(8, dtype=np.uint8)).convert("P")  # indices 0/1, palette 0 → black
    mask.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)  # index 1 is dark red: luminance 38
    Image.new("L", (8, 8), 90).save(root / "images" / "p.png")
    mask.save(root / "masks" / "p.png")
    (decoded,) = load_folder(root).masks
    assert (decoded == np.eye(8, dtype=bool)).all()


def test_no_foreground_anywhere_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(3):
        _save_mask(root, f"e{i}", np.zeros((8, 8), np.uint8))
    with pytest.raises(UserError, match=r"none of the 3 masks has a foreground pixel"):
        load_folder(root)


def test_label_map_masks_are_named_in_the_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0/1/2 label maps: more than two values, none above 127. One error line, no warning before it."""
    images, masks = disks(3, 16)
    root = write_tiffs(tmp_path / "d", images, [(m > 0).astype(np.uint8) * 2 for m in masks])
    for path in (root / "masks").iterdir():
        label = np.asarray(Image.open(path)).copy()
        label[:, :2] = 1
        Image.fromarray(label).save(path)
    with pytest.raises(
        UserError, match=r"none of the 3 masks .* a multi-class label map\?\); nothing to segment"
    ):
        load_folder(root)
    assert capsys.readouterr().err == ""


def test_masks_all_foreground_are_refused(tmp_path: Path) -> None:
    images, masks = disks(3, 16)
    root = write_tiffs(tmp_path / "d", images, [np.full_like(m, 255) for m in masks])
    with pytest.raises(UserError, match=r"all 3 masks are foreground everywhere"):
        load_folder(root)


def test_flat_images_are_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = disks(3, 16)
    root = write_tiffs(tmp_path / "d", [np.zeros_like(images[0]), *images[1:]], masks)
    load_folder(root)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"rudratune: warning: data.root: 1 of 3 image(s) hold one value everywhere (e.g. {root}/images/im00.tif); "
        "nothing to learn from them (blank or failed exports?)"
    ]


def bomb_png(path: Path, width: int, height: int) -> None:
    """A PNG whose header says width x height (its pixels are never decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "side", [20000, 9500]
)  # over twice Pillow's limit (an error) and just over (a warning)
def test_decompression_bomb_is_refused_in_one_line(tmp_path: Path, side: int) -> None:
    root = tmp_path / "d"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    bomb_png(root / "images" / "big.png", side, side)
    bomb_png(root / "masks" / "big.png", side, side)
    with pytest.raises(UserError) as err:
        load_folder(root)
    assert f"big.png has {side * side:,} pixels, over the limit of 89,478,485" in str(err.value)


def test_split_checks(tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = load_folder(tiny_data)
    with pytest.raises(UserError, match=r"4 pairs split into 4/0/0 train/val/test"):
        check_split(data.subset([0, 1, 2, 3]), DataConfig(), seed=42)
    check_split(data.subset(list(range(10))), DataConfig(), seed=42)
    assert capsys.readouterr().err == ""
    _, val, _ = split_indices(24, seed=42)
    empty = SegmentationData(
        data.names, data.images, tuple(m & (i not in val) for i, m in enumerate(data.masks)), "root"
    )
    check_split(empty, DataConfig(), seed=42)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "rudratune: warning: data.root: root: no mask of the val split (4 pairs, seed 42) has a foreground "
        "pixel; its Dice says little"
    )


def test_thumbnails_resized_far_up_are_said(tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = load_folder(tiny_data)  # 64 px
    check_split(data, DataConfig(image_size=256), seed=42)  # 4x: enlarged, but not mostly invented
    assert capsys.readouterr().err == ""
    check_split(data, DataConfig(image_size=264), seed=42)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("rudratune: warning: data.root: ")
    assert "24 of 24 images are more than 4x below data.image_size=264 (smallest 64 px)" in line


def test_memory_bound_and_batch_of_one(tiny_data: Path) -> None:
    data = load_folder(tiny_data)
    check_memory(data, DataConfig(image_size=256))
    with pytest.raises(
        UserError,
        match=r"data.image_size: 4096 px makes the 24 pairs of .* take 750.0 GiB as "
        r"resized tensors for 1000 trials at once, over half of this machine's",
    ):
        check_memory(data, DataConfig(image_size=4096), concurrent=1000)
    assert [drop_last_single(n, 8) for n in (15, 9, 16, 17, 8, 1)] == [False, True, False, True, False, True]
    assert not drop_last_single(5, 1)


@pytest.mark.slow
def test_a_model_learns_from_uint16_tiffs(tmp_path: Path) -> None:
    """Issue 11 acceptance: bright disks on grey in 16-bit TIFFs; test Dice well above chance in 4 tiny epochs."""
    from rudratune.config.experiment import load_experiment
    from rudratune.train.loop import RunOptions, train
    from tests.helpers import EXPERIMENT

    root = write_tiffs(tmp_path / "tiffs", *disks(24, 48))
    overrides = [
        *(f"data.{k}" for k in (f"root={root}", "image_size=32", "batch_size=4")),
        *("model.name=monai.UNet", "trainer.max_epochs=4", "optimizer.lr=1e-2", "trainer.threads=1"),
        *("tracking.mlflow=false", "tracking.wandb=false"),
    ]
    cfg = load_experiment(EXPERIMENT, overrides)
    data = load_folder(root)
    options = RunOptions(run_dir=tmp_path / "run", checkpoints=False, artifacts=False, progress=False)
    result = train(cfg, data, options)
    _, _, test = split_indices(len(data), seed=cfg.seed)
    fg = np.mean([data.masks[i].mean() for i in test])
    chance = 2 * fg / (1 + fg)  # Dice of predicting foreground everywhere
    assert result.test["test_dice"] > max(0.6, 2 * chance), (result.test, chance)


def test_progress_on_a_terminal_only(
    tiny_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    load_folder(tiny_data)
    assert capsys.readouterr().err == ""  # not a terminal: silent (logs and tests stay one line per event)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    load_folder(tiny_data)
    err = capsys.readouterr().err
    assert f"\rdecoding {tiny_data}: 24/24 pairs" in err and err.endswith("\r\033[K")


def _binarize_by_distinct_values(array: np.ndarray) -> tuple[np.ndarray, int]:
    """The rule of ``decode.binarize`` from its sorted distinct values, as it was before its two-pass path."""
    values = np.unique(array)
    if len(values) <= 2:
        top = values[-1] if len(values) else 0
        return (array == top) if top != 0 else np.zeros(array.shape, bool), len(values)
    limit = next((x for x in (1.0, 255.0, 65535.0) if values[-1] <= x), float(values[-1]))
    return array > limit / 2, len(values)


MASK_VALUES = [(0, 255), (0, 1), (3, 7), (0,), (9,), (0, 0, 300), (-1, 0), (0, 128, 255), (0, 40000, 65535)]


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (v, t)
        for t in (np.uint8, np.uint16, np.int16, bool)
        for v in MASK_VALUES
        if all(int(x) == int(np.array(x).astype(t)) for x in v)  # the values the type holds
    ],
)
def test_binarize_gives_the_rules_answer_for_one_two_and_more_values(values: tuple, dtype: type) -> None:
    from rudratune.data.decode import binarize

    rng = np.random.default_rng(0)
    array = np.array(values, dtype)[rng.integers(0, len(values), (17, 23))]
    array.flat[: len(values)] = values  # every value present
    got, n = binarize(array)
    want, n_want = _binarize_by_distinct_values(array)
    assert n == n_want == len(set(values))
    assert got.dtype == bool and np.array_equal(got, want)
