"""The intensity rules on real files (rudratune/data/intensity.py): the ``auto`` default on 12-bit data in
16-bit TIFFs, signed and 32-bit images, NaN/inf pixels, narrow ranges, z-stacks; and the acceptance run of
issue 19 (16-bit at default settings trains as well as its 8-bit copy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from rudratune.config.schema import IntensityConfig
from rudratune.data.folder import load_folder
from rudratune.errors import UserError


def twelve_bit(n: int, size: int = 48, *, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A 12-bit detector in a 16-bit file: background about 1000 counts, disks about 3000 (issue 19)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, masks = [], []
    for _ in range(n):
        mask = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.uniform(8, size - 8, 2).tolist() + [rng.uniform(4, 9)]
            mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        image = rng.normal(1000, 250, (size, size)) + mask * 2000
        images.append(np.clip(image, 0, 4095).astype(np.uint16))
        masks.append(mask.astype(np.uint8) * 255)
    return images, masks


def write(root: Path, images: list[np.ndarray], masks: list[np.ndarray], **kw: object) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, (image, mask) in enumerate(zip(images, masks, strict=True)):
        tifffile.imwrite(root / "images" / f"im{i:02d}.tif", image, **kw)  # type: ignore[arg-type]
        Image.fromarray(mask).save(root / "masks" / f"im{i:02d}.png")
    return root


def spread(data) -> tuple[float, float]:
    values = np.concatenate([data.unit(i).ravel() for i in range(len(data))])
    return float(np.percentile(values, 1)), float(np.percentile(values, 99))


def test_auto_spans_a_12_bit_range_and_dtype_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, masks = twelve_bit(4)
    root = write(tmp_path / "d", images, masks)
    data = load_folder(root)
    assert data.decoding.mode == "auto" and data.decoding.rule == "dataset"
    every = np.concatenate([i.ravel() for i in images])  # the histogram's percentiles are numpy's, exactly
    assert (data.decoding.low, data.decoding.high) == tuple(np.percentile(every, [1, 99]))
    lo, hi = spread(data)
    assert lo < 0.001 and hi > 0.999  # the dataset's 1st..99th percentiles map to 0..1
    assert capsys.readouterr().err == ""
    data = load_folder(root, IntensityConfig(mode="dtype"))
    assert spread(data)[1] < 0.06  # what the old default made of it
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"rudratune: warning: data.root: {root}: the decoded images use ")
    assert "of [0, 1] (percentiles 1 to 99 of the uint16 values" in line and "mode: dtype" in line


@pytest.mark.parametrize(
    ("dtype", "offset"), [("int16", -20000), ("uint32", 70000), ("int32", -100)], ids=str
)
def test_signed_and_32_bit_images_span_by_default_and_warn_under_dtype(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dtype: str, offset: int
) -> None:
    """Issue 21: int16 and uint32 images were scaled to nothing (a sliver of [0, 1]) without a word."""
    images, masks = twelve_bit(3)
    root = write(tmp_path / "d", [(i.astype(np.int64) + offset).astype(dtype) for i in images], masks)
    lo, hi = spread(load_folder(root))
    assert lo < 0.001 and hi > 0.999
    assert capsys.readouterr().err == ""
    lo, hi = spread(load_folder(root, IntensityConfig(mode="dtype")))
    assert hi - lo < 0.05
    err = capsys.readouterr().err
    assert "the decoded images use " in err and "mode: dtype" in err, err


def test_nan_and_inf_pixels_stay_local(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 21: a few NaN/inf pixels turned whole float images into NaN (then 'loss became nan') or 0."""
    images, masks = twelve_bit(3)
    floats = [i.astype(np.float32) for i in images]
    floats[0][0, :3] = np.nan
    floats[1][5, 5], floats[1][6, 6] = np.inf, -np.inf
    root = write(tmp_path / "d", floats, masks)
    for mode in ("auto", "dtype", "percentile"):
        data = load_folder(root, IntensityConfig(mode=mode))
        for i in range(3):
            x = data.unit(i)
            assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1, (mode, i)
            truth = masks[i] > 0
            assert x[..., 0][truth].mean() > x[..., 0][~truth].mean() + 0.2, (mode, i)  # contrast survives
        assert data.images[0][0, 0, 0] == np.nanmin(floats[0])  # NaN: the image's finite minimum
        assert data.images[1][5, 5, 0] == floats[1][np.isfinite(floats[1])].max()  # +inf: its maximum
        lines = capsys.readouterr().err.strip().splitlines()
        assert (
            f"rudratune: warning: data.root: 2 float image(s) hold NaN or infinite pixels (e.g. "
            f"{root}/images/im00.tif: 3); each was set to its image's finite minimum (NaN, -inf) or maximum (+inf)"
        ) in lines, (mode, lines)


def test_near_constant_images_are_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = twelve_bit(3)
    images[1] = (np.arange(48 * 48) % 3 + 2000).astype(np.uint16).reshape(48, 48)  # spans 2 counts
    root = write(tmp_path / "d", images, masks)
    load_folder(root)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"rudratune: warning: data.root: 1 of 3 image(s) are near-constant (decoded, their values span under 1% "
        f"of [0, 1]; e.g. {root}/images/im01.tif); little to learn from them"
    )


@pytest.mark.parametrize("photometric", ["minisblack", None])
def test_a_4_plane_tiff_stack_is_refused_in_one_line(tmp_path: Path, photometric: str | None) -> None:
    """Issue 21: a (4, H, W) z-stack was read as RGBA (3 planes as colour, the 4th dropped as alpha).
    ``None``: tifffile's own choice for such an array (planar RGB + alpha)."""
    images, masks = twelve_bit(3, 16)
    stack = [np.stack([i, i // 2, i // 3, i // 4]) for i in images]
    kw = {"planarconfig": "separate", "photometric": photometric} if photometric else {}
    root = write(tmp_path / "d", stack, masks, **kw)
    with pytest.raises(UserError) as err:
        load_folder(root)
    message = str(err.value)
    assert message.startswith(f"data.root: {root}/images/im00.tif holds 4 planes of one sample each (planar")
    assert "a z-stack or a multichannel stack?); valid: grey, RGB or RGBA images" in message
    assert "\n" not in message


def test_a_real_planar_rgba_tiff_is_still_colour(tmp_path: Path) -> None:
    images, masks = twelve_bit(3, 16)
    rgba = [np.stack([i, i, i // 2, np.full_like(i, 65535)]) for i in images]  # opaque alpha plane
    root = write(tmp_path / "d", rgba, masks, planarconfig="separate", photometric="rgb", extrasamples=[2])
    data = load_folder(root)
    assert data.channels == 3 and data.images[0].shape == (16, 16, 3)
    assert np.array_equal(data.images[0][..., 2], images[0] // 2)


def _dice_at_defaults(root: Path, run_dir: Path, *overrides: str) -> float:
    from rudratune.config.experiment import load_experiment
    from rudratune.train.loop import RunOptions, train
    from tests.helpers import EXPERIMENT

    overrides = [
        *(f"data.{k}" for k in (f"root={root}", "image_size=48", "batch_size=4")),
        *("model.name=scratch.UNet", "trainer.max_epochs=10", "optimizer.lr=1e-2", "trainer.threads=1"),
        *("tracking.mlflow=false", "tracking.wandb=false", *overrides),
    ]  # data.intensity left at the experiment's default unless overridden
    cfg = load_experiment(EXPERIMENT, overrides)
    options = RunOptions(run_dir=run_dir, checkpoints=False, artifacts=False, progress=False)
    return float(train(cfg, load_folder(root, cfg.data.intensity), options).test["test_dice"])


@pytest.mark.slow
def test_16_bit_trains_as_well_as_its_8_bit_copy_at_default_settings(tmp_path: Path) -> None:
    """Issue 19 acceptance: 12-bit counts in 16-bit TIFFs; the old default trained these to Dice 0."""
    images, masks = twelve_bit(24)
    sixteen = write(tmp_path / "16", images, masks)
    eight = write(tmp_path / "8", [(i >> 4).astype(np.uint8) for i in images], masks)  # 12 bits into 8
    dice_16 = _dice_at_defaults(sixteen, tmp_path / "run16")
    dice_8 = _dice_at_defaults(eight, tmp_path / "run8")
    # the 16-bit files reach what their 8-bit copy reaches (here more: auto stretches their used range to [0, 1],
    # the copy keeps its values at 62..187 of 255)
    assert dice_8 > 0.3, dice_8
    assert dice_16 >= dice_8 - 0.05, (dice_16, dice_8)
    old_default = _dice_at_defaults(sixteen, tmp_path / "run16-dtype", "data.intensity.mode=dtype")
    assert old_default < dice_16 - 0.3, (old_default, dice_16)  # the failure this test is here to catch


def test_dataset_percentiles_are_exact_over_histograms_of_different_lengths() -> None:
    """Each image's histogram runs only up to its own top value; summed, they give numpy's percentiles."""
    from rudratune.data.intensity import DatasetStats, ImageStats

    rng = np.random.default_rng(1)
    images = [rng.integers(0, top, (40, 40)).astype(np.uint16) for top in (300, 4096, 70, 65535)]
    images += [rng.integers(-500, 500, (40, 40)).astype(np.int16)]
    stats = DatasetStats()
    for image in images:
        stats.add(ImageStats.of(image, image.dtype), image.dtype)
    want = np.percentile(np.concatenate([a.ravel().astype(np.float64) for a in images]), (1, 99))
    assert np.allclose(stats.percentiles((1, 99)), want)
