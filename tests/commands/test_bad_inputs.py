"""The bad-input catalogue (docs/bad-inputs.md): each case exits 2 with one line and writes nothing."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudratune.cli import main
from tests.helpers import EXPERIMENT, REPO, files_under


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Path, Path], list[str]]
    """(scratch dir, tiny data) → CLI arguments after ``--output-root``."""
    message: str
    """The message, with ``{tmp}`` for the scratch dir."""


def space(tmp: Path, body: str) -> str:
    path = tmp / "space.yaml"
    path.write_text(f"experiment: {EXPERIMENT}\n" + textwrap.dedent(body))
    return str(path)


def folder(
    tmp: Path, data: Path, *, drop_mask: bool = False, corrupt: bool = False, empty: bool = False
) -> str:
    root = tmp / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    if not empty:
        for image in sorted((data / "images").iterdir())[:2]:
            (root / "images" / image.name).write_bytes(image.read_bytes())
            (root / "masks" / image.name).write_bytes((data / "masks" / image.name).read_bytes())
    if drop_mask:
        (root / "masks" / "sem_001.png").unlink()
    if corrupt:
        (root / "images" / "sem_001.png").write_bytes(b"\x89PNG broken")
    return str(root)


def sweep_dir(tmp: Path) -> str:
    """A sweep folder whose trials never reported (what a sweep killed at once leaves)."""
    from rudratune.search.record import record_for
    from rudratune.search.space import load_sweep

    run_dir = tmp / "sweeps" / "empty"
    run_dir.mkdir(parents=True)
    record_for(run_dir, load_sweep(space(tmp, "space: {}\n")), storage=None, output_root=tmp).save()
    return str(run_dir)


TRAIN = ["train", str(EXPERIMENT)]
CASES = [
    Case(
        "malformed YAML",
        lambda t, d: ["run", space(t, "space: {optimizer.lr: [1\n"), "--dry-run"],
        "{tmp}/space.yaml: line 3 malformed YAML: expected ',' or ']', but got '<stream end>'",
    ),
    Case(
        "duplicate key",
        lambda t, d: ["run", space(t, "metric: val_loss\nmetric: val_dice\n"), "--dry-run"],
        "{tmp}/space.yaml: line 3: duplicate key 'metric'",
    ),
    Case(
        "unknown distribution",
        lambda t, d: [
            "run",
            space(t, "space:\n  optimizer.lr: {distribution: normal, min: 0, max: 1}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.optimizer.lr: unknown distribution 'normal'; valid: uniform, log_uniform, int_uniform, int_log_uniform, q_uniform",
    ),
    Case(
        "min > max",
        lambda t, d: [
            "run",
            space(t, "space:\n  optimizer.lr: {distribution: uniform, min: 0.1, max: 0.01}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.optimizer.lr: min (0.1) must be below max (0.01)",
    ),
    Case(
        "log with min <= 0",
        lambda t, d: [
            "run",
            space(t, "space:\n  optimizer.lr: {distribution: log_uniform, min: 0, max: 0.1}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.optimizer.lr: log_uniform needs min > 0, got 0.0 (W&B's log_uniform takes exponents; here min and max are the values)",
    ),
    Case(
        "when names an absent parameter",
        lambda t, d: [
            "run",
            space(t, "space:\n  loss.gamma: {values: [2.0], when: {loss.name: [DiceFocalLoss]}}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.loss.gamma.when: names 'loss.name', which is not a parameter of the space",
    ),
    Case(
        "unknown sweep key",
        lambda t, d: ["run", space(t, "serach: {num_samples: 4}\n"), "--dry-run"],
        "{tmp}/space.yaml: unknown key 'serach' (did you mean 'search'?); valid keys here: experiment, name, metric, mode, search, resources, checkpoints, max_failures, storage, data_transfer, space",
    ),
    Case(
        "loss-dependent metric over a space that varies the loss",
        lambda t, d: [
            "run",
            space(t, "metric: val_loss\nspace:\n  loss.name: {values: [DiceLoss, DiceFocalLoss]}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: metric: val_loss depends on the training loss, and space.loss.name varies the loss, so trials would be ranked on different scales; use a comparable metric: val_dice, val_iou, val_ref_loss",
    ),
    Case(
        "unknown metric",
        lambda t, d: ["run", space(t, "metric: val_acc\n"), "--dry-run"],
        "{tmp}/space.yaml: metric: unknown metric 'val_acc'; valid: val_loss, val_dice, val_iou, val_ref_loss",
    ),
    Case(
        "constraint without an operator",
        lambda t, d: ["run", space(t, 'constraints: {latency_ms: "< 5"}\n'), "--dry-run"],
        "{tmp}/space.yaml: constraints: latency_ms: '< 5' is not a constraint; write '<= NUMBER' or '>= NUMBER'",
    ),
    Case(
        "unknown objective",
        lambda t, d: ["run", space(t, "metric: [val_dice, flops]\n"), "--dry-run"],
        "{tmp}/space.yaml: metric: unknown objective 'flops'; valid: val_loss, val_dice, val_iou, val_ref_loss, params_m, flops_g, latency_ms, latency_spread_ms, peak_mem_mb",
    ),
    Case(
        "a cost as the first objective",
        lambda t, d: ["run", space(t, "metric: [latency_ms, val_dice]\n"), "--dry-run"],
        "{tmp}/space.yaml: metric: the first metric is the one ASHA stops trials on, so it must be trained: val_loss, val_dice, val_iou, val_ref_loss (got 'latency_ms'; list costs after it)",
    ),
    Case(
        "one mode for two objectives",
        lambda t, d: ["run", space(t, "metric: [val_dice, latency_ms]\nmode: [max]\n"), "--dry-run"],
        "{tmp}/space.yaml: mode: give one mode per metric, e.g. ['max', 'min']",
    ),
    Case(
        "augmentation probability above 1",
        lambda t, d: [*TRAIN, "augment.flip.p=1.5"],
        f"{EXPERIMENT}: augment.flip.p: Input should be less than or equal to 1 (got 1.5)",
    ),
    Case(
        "unknown model",
        lambda t, d: [*TRAIN, "model.name=smp.Unett"],
        f"{EXPERIMENT}: model.name: unknown model 'smp.Unett' (did you mean 'smp.Unet'?); valid: monai.AttentionUnet, monai.BasicUNet, monai.SegResNet, monai.SwinUNETR, monai.UNETR, monai.UNet, scratch.AttentionUNet, scratch.FCN8s, scratch.Null, scratch.ResUNet, scratch.UNet, smp.DPT, smp.DeepLabV3, smp.DeepLabV3Plus, smp.FPN, smp.Linknet, smp.MAnet, smp.PAN, smp.PSPNet, smp.Segformer, smp.UPerNet, smp.Unet, smp.UnetPlusPlus",
    ),
    Case(
        "unknown encoder",
        lambda t, d: [*TRAIN, "model.encoder=resnet35"],
        "model.encoder: unknown encoder 'resnet35' (did you mean 'resnet50'?)",
    ),
    Case(
        "unknown loss",
        lambda t, d: [*TRAIN, "loss.name=DiceFocal"],
        "loss.name: unknown loss 'DiceFocal' (did you mean 'DiceFocalLoss'?)",
    ),
    Case(
        "image size the model cannot take",
        lambda t, d: [*TRAIN, "model.name=smp.PAN", "data.image_size=64"],
        f"{EXPERIMENT}: data.image_size: smp.PAN needs data.image_size >= 128, got 64",
    ),
    Case(
        "unknown config key",
        lambda t, d: [*TRAIN, "optimizer.learning_rate=0.1"],
        f"{EXPERIMENT}: unknown key 'optimizer.learning_rate'; valid keys here: name, lr, weight_decay, momentum",
    ),
    Case(
        "missing data folder",
        lambda t, d: [*TRAIN, "data.root=/nonexistent/sem"],
        "data.root: no such folder /nonexistent/sem",
    ),
    Case(
        "empty data folder",
        lambda t, d: [*TRAIN, f"data.root={folder(t, d, empty=True)}"],
        "data.root: {tmp}/data/images and {tmp}/data/masks hold no images (.png, .jpg, .jpeg, .tif, .tiff, .bmp)",
    ),
    Case(
        "unpaired file",
        lambda t, d: [*TRAIN, f"data.root={folder(t, d, drop_mask=True)}"],
        "data.root: image without a mask: {tmp}/data/images/sem_001.png (1 unpaired)",
    ),
    Case(
        "corrupt image",
        lambda t, d: [*TRAIN, f"data.root={folder(t, d, corrupt=True)}"],
        "data.root: cannot read image {tmp}/data/images/sem_001.png (UnidentifiedImageError: corrupt or unsupported)",
    ),
    Case(
        "output dir that cannot be written",
        lambda t, d: ["--output-root", "/proc/rudratune", *TRAIN],
        "--output-root: cannot create /proc/rudratune (No such file or directory)",
    ),
    Case(
        "unreachable --address",
        lambda t, d: ["run", space(t, "space: {}\n"), "--address", "127.0.0.1:9"],
        "--address: cannot reach a Ray cluster at 127.0.0.1:9 (Connection refused)",
    ),
    Case(
        "unreachable MLflow URI",
        lambda t, d: [*TRAIN, f"data.root={d}", "tracking.mlflow_uri=http://127.0.0.1:9"],
        "tracking.mlflow_uri: cannot reach MLflow at http://127.0.0.1:9 ([Errno 111] Connection refused)",
    ),
    Case(
        "resume of a folder that is not a sweep",
        lambda t, d: ["resume", str(t)],
        "{tmp}: not a rudratune sweep folder (no sweep.json)",
    ),
    Case(
        "export of a sweep with no completed trial",
        lambda t, d: ["export", sweep_dir(t)],
        "{tmp}/sweeps/empty: no trial of this sweep completed an epoch; nothing to export",
    ),
    Case(
        "export into a missing folder",
        lambda t, d: ["export", sweep_dir(t), "-o", "/nonexistent/best.yaml"],
        "-o: folder /nonexistent does not exist",
    ),
    Case(
        "ONNX export to a name without .onnx",
        lambda t, d: ["export", sweep_dir(t), "--onnx", f"{t}/net.txt"],
        "--onnx: {tmp}/net.txt should end in .onnx, e.g. {tmp}/net.onnx",
    ),
    Case(
        "ONNX export into a missing folder",
        lambda t, d: ["export", sweep_dir(t), "--onnx", "/nonexistent/net.onnx"],
        "--onnx: folder /nonexistent does not exist",
    ),
    Case(
        "ONNX export of a sweep with no completed trial",
        lambda t, d: ["export", sweep_dir(t), "--onnx", f"{t}/net.onnx"],
        "{tmp}/sweeps/empty: no trial of this sweep completed an epoch; nothing to export",
    ),
    Case(
        "register with an empty name",
        lambda t, d: ["export", sweep_dir(t), "--register", " "],
        "--register: the model name is empty; valid: e.g. --register pores-unet",
    ),
    Case(
        "register of a folder that is no run",
        lambda t, d: ["export", str(t), "--register", "pores"],
        "{tmp}: neither a sweep folder nor a `rudratune train` run folder",
    ),
    Case(
        "report of a folder that is not a sweep",
        lambda t, d: ["report", str(t)],
        "{tmp}: not a rudratune sweep folder (no sweep.json)",
    ),
    Case(
        "show of a folder that is not a sweep",
        lambda t, d: ["show", str(t), "--json"],
        "{tmp}: not a rudratune sweep folder (no sweep.json)",
    ),
    Case(
        "sweep name taken",
        lambda t, d: ["run", space(t, "space: {}\n"), "--name", "sweeps"],
        "--name: {out}/sweeps already exists; choose another name or `rudratune resume {out}/sweeps`",
    ),
    Case(
        "bad sweep name",
        lambda t, d: ["run", space(t, "space: {}\n"), "--name", "../x"],
        "--name: '../x' may hold only letters, digits, '_', '.' and '-'",
    ),
    Case(
        "missing config file",
        lambda t, d: ["train", "experiments/nope.yaml"],
        "experiments/nope.yaml: no such file",
    ),
    Case(
        "unknown option",
        lambda t, d: ["train", str(EXPERIMENT), "--epochs", "3"],
        "unrecognized arguments: --epochs 3 (see rudratune --help)",
    ),
]


# --- the data path (issue 11.1, issue 12 items 1, 2, 3, 12, 13, 17, 18): d ---
def data_folder(tmp: Path, data: Path, *, n: int = 2, empty_masks: bool = False, bomb: bool = False) -> str:
    """A copy of ``n`` tiny pairs, their masks emptied, or a 20,000 x 20,000 PNG (header only) added."""
    from PIL import Image

    from tests.data.test_decode import bomb_png

    root = tmp / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for image in sorted((data / "images").iterdir())[:n]:
        (root / "images" / image.name).write_bytes(image.read_bytes())
        if empty_masks:
            Image.new("L", Image.open(image).size, 0).save(root / "masks" / image.name)
        else:
            (root / "masks" / image.name).write_bytes((data / "masks" / image.name).read_bytes())
    if bomb:
        bomb_png(root / "images" / "big.png", 20000, 20000)
        bomb_png(root / "masks" / "big.png", 20000, 20000)
    return str(root)


def data_space(tmp: Path, root: str) -> str:
    return space(tmp, f"space:\n  data.root: {{value: {root}}}\n")


CASES += [
    Case(
        "unknown intensity mode",
        lambda t, d: [*TRAIN, "data.intensity.mode=minmax"],
        f"{EXPERIMENT}: data.intensity.mode: got 'minmax'; valid values: 'auto', 'dtype' or 'percentile'",
    ),
    Case(
        "percentiles in the wrong order",
        lambda t, d: [
            *TRAIN,
            "data.intensity.mode=percentile",
            "data.intensity.low=99",
            "data.intensity.high=1",
        ],
        f"{EXPERIMENT}: data.intensity: low (99.0) must be below high (1.0)",
    ),
    Case(
        "no foreground in any mask",
        lambda t, d: [*TRAIN, f"data.root={data_folder(t, d, n=6, empty_masks=True)}"],
        "data.root: {tmp}/data: none of the 6 masks has a foreground pixel; nothing to segment (mask rule: README, 'How images and masks are decoded')",
    ),
    Case(
        "too few pairs for the splits",
        lambda t, d: [*TRAIN, f"data.root={data_folder(t, d, n=4)}"],
        "data.root: {tmp}/data: 4 pairs split into 4/0/0 train/val/test with data.val_fraction=0.2 and data.test_fraction=0.2; needs at least 2 train pairs and 1 each for val and test: add pairs or change the fractions",
    ),
    Case(
        "too few pairs for the splits in a sweep",
        lambda t, d: ["run", data_space(t, data_folder(t, d, n=4))],
        "data.root: {tmp}/data: 4 pairs split into 4/0/0 train/val/test with data.val_fraction=0.2 and data.test_fraction=0.2; needs at least 2 train pairs and 1 each for val and test: add pairs or change the fractions",
    ),
    Case(
        "image size that cannot fit in memory",
        lambda t, d: [*TRAIN, "data.image_size=100000"],
        f"{EXPERIMENT}: data.image_size: Input should be less than or equal to 4096 (got 100000)",
    ),
    Case(
        "synthetic images that cannot fit in memory",
        lambda t, d: ["data", "synth", str(t / "synth"), "--size", "100000"],
        "data synth: --n must be >= 1 and --size between 32 and 4096 (got --n 128, --size 100000); one 4096² image takes about 2 GB to render",
    ),
    Case(
        "decompression bomb",
        lambda t, d: [*TRAIN, f"data.root={data_folder(t, d, bomb=True)}"],
        "data.root: {tmp}/data/images/big.png has 400,000,000 pixels, over the limit of 89,478,485 (Pillow's decompression-bomb limit); tile or downscale large micrographs first",
    ),
    Case(
        "a distribution over a dataset key",
        lambda t, d: [
            "run",
            space(t, "space:\n  data.intensity.low: {distribution: uniform, min: 0, max: 5}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.data.intensity.low: takes values or grid, not a distribution (each distinct dataset is decoded once before the sweep)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    args = case.args(scratch, tiny_data)
    if case.name == "sweep name taken":
        (out / "sweeps").mkdir()
    before = files_under(out), files_under(scratch)
    code = main(["--output-root", str(out), *args] if args[0] != "--output-root" else args)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    expected = case.message.format(tmp=scratch, out=out)
    assert lines[0].startswith("rudratune: error: ") and expected in lines[0], f"{lines[0]}\n!= {expected}"
    assert (files_under(out), files_under(scratch)) == before  # nothing written


def test_catalogue_is_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for case in CASES:
        assert f"| {case.name} |" in doc, case.name


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from(["smp.Unet", "DiceLoss", "resnet18", "x", "uniform", "log_uniform", ""]),
)
keys = st.sampled_from(
    [
        "optimizer.lr",
        "loss.name",
        "loss.gamma",
        "model.name",
        "model.encoder",
        "data.image_size",
        "scheduler.patience",
        "trainer.max_epochs",
        "nope.key",
        "seed",
    ]
)
params = st.fixed_dictionaries(
    {},
    optional={
        "values": st.lists(scalars, max_size=3),
        "grid": st.lists(scalars, max_size=3),
        "value": scalars,
        "distribution": st.sampled_from(
            ["uniform", "log_uniform", "int_uniform", "int_log_uniform", "q_uniform", "beta"]
        ),
        "min": scalars,
        "max": scalars,
        "q": scalars,
        "when": st.dictionaries(keys, st.lists(scalars, max_size=2), max_size=1),
        "extra": scalars,
    },
)
spaces = st.fixed_dictionaries(
    {"space": st.dictionaries(keys, st.one_of(params, scalars), max_size=4)},
    optional={
        "metric": scalars,
        "mode": scalars,
        "search": st.dictionaries(st.sampled_from(["num_samples", "seed", "x"]), scalars, max_size=2),
        "resources": st.one_of(
            scalars, st.dictionaries(st.sampled_from(["cpu", "gpu"]), scalars, max_size=2)
        ),
    },
)


@settings(
    max_examples=int(__import__("os").environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=spaces)
def test_random_spaces_never_raise_a_traceback(
    body: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump({"experiment": str(EXPERIMENT), **json.loads(json.dumps(body))}))
    code = main(
        ["--output-root", str(tmp_path / "out"), "run", str(path), "--dry-run", "--dry-run-samples", "2"]
    )
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("rudratune: error: ")
