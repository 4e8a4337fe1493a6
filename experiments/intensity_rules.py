"""Which default intensity rule? Test Dice of one tiny training per rule on 12-bit data in 16-bit TIFFs and on
its 8-bit copy (issue 19). Prints a markdown table.

    python experiments/intensity_rules.py [--n 24] [--epochs 6] [--seeds 0]

Rules: ``dtype`` (8-bit / 255, 16-bit / 65535), ``auto`` (8-bit by type; wider types from dataset-wide
1st/99th percentiles), ``percentile`` (each image's own 1st/99th), and nnU-Net's per-image z-score, emulated by
writing each image's z-scores as float32 TIFFs decoded under ``dtype`` (one dataset-wide affine of the z-scores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.data.test_intensity import twelve_bit, write  # noqa: E402


def dice(root: Path, mode: str, epochs: int, seed: int, run_dir: Path, model: str = "monai.UNet") -> float:
    from rudratune.config.experiment import load_experiment
    from rudratune.config.schema import IntensityConfig
    from rudratune.data.folder import load_folder
    from rudratune.train.loop import RunOptions, train
    from tests.helpers import EXPERIMENT

    overrides = [
        *(f"data.{k}" for k in (f"root={root}", "image_size=48", "batch_size=4", f"intensity.mode={mode}")),
        *(f"model.name={model}", f"trainer.max_epochs={epochs}", "optimizer.lr=1e-2", "trainer.threads=1"),
        *("tracking.mlflow=false", "tracking.wandb=false", f"seed={seed}"),
    ]
    cfg = load_experiment(EXPERIMENT, overrides)
    options = RunOptions(run_dir=run_dir, checkpoints=False, artifacts=False, progress=False)
    data = load_folder(root, IntensityConfig(mode=mode))
    return float(train(cfg, data, options).test["test_dice"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--model", default="monai.UNet")
    parser.add_argument("--only", help="comma-separated run numbers (1-7) to run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="intensity-rules-"))
    images, masks = twelve_bit(args.n)
    z = [((i - i.mean()) / i.std()).astype(np.float32) for i in images]
    folders = {
        "16-bit": write(tmp / "16", images, masks),
        "8-bit": write(tmp / "8", [(i >> 4).astype(np.uint8) for i in images], masks),
        "16-bit z": write(tmp / "16z", z, masks),
        "8-bit z": write(
            tmp / "8z", [((j := (i >> 4).astype(np.float32)) - j.mean()) / j.std() for i in images], masks
        ),
    }
    runs = [
        ("dtype", "16-bit", "dtype"),
        ("auto (default)", "16-bit", "auto"),
        ("percentile (per image)", "16-bit", "percentile"),
        ("z-score (per image)", "16-bit z", "dtype"),
        ("dtype = auto", "8-bit", "dtype"),
        ("percentile (per image)", "8-bit", "percentile"),
        ("z-score (per image)", "8-bit z", "dtype"),
    ]
    print("| rule | data | test Dice (seeds " + args.seeds + ") | s |\n|---|---|---|---|")
    chosen = [int(i) - 1 for i in args.only.split(",")] if args.only else range(len(runs))
    print(f"model {args.model}, {args.epochs} epochs, {args.n} pairs at 48 px")
    for name, folder, mode in (runs[i] for i in chosen):
        start = time.perf_counter()
        scores = [
            dice(folders[folder], mode, args.epochs, int(s), tmp / f"run-{folder}-{mode}-{s}", args.model)
            for s in args.seeds.split(",")
        ]
        text = ", ".join(f"{d:.4f}" for d in scores)
        print(f"| {name} | {folder.split()[0]} | {text} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
