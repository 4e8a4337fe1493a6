"""A3: what a sweep delivers on new images (issue 17 item 2): the five-way table, mean of several seeds, on
the embedded data and on a second dataset of another kind.

    python experiments/benchmarks/a3_predict.py [--seeds 0,1,2] [--datasets embedded,nuclei16] [--out FILE]

For each dataset and seed, as a user runs it (the CLI, in subprocesses):
  1. a sweep (6 trials of smp.Unet-resnet18 at 64 px, 5 epochs; loss and learning rate searched; TPE + ASHA),
  2. the recipe (``experiments/rudraksha.yaml`` at the same size and epochs),
  3. the best config exported and retrained (``rudratune export`` → ``rudratune train``),
  4. ``rudratune export --ensemble 3`` (its choice on the validation split is reported);
then, on the seed's test split, Dice per image at the images' own size (``rudratune predict``'s code path)
and seconds per image, for: the recipe, the best trial retrained, the best trial as trained in the sweep,
the top-3 ensemble, and the top-3 ensemble with mirror TTA; also the best trial with TTA and what
``export --ensemble 3`` chose on validation. ``seed`` is the experiment's (split and initialisation) and
the searcher's. A rerun with the same output root reuses every finished sweep and training and scores again.

The second dataset, ``nuclei16``: 96 grey 16-bit TIFFs at 128 px of blurred bright blobs (radius 3-12 px,
some touching) on a 12-bit background with a smooth gradient and shot noise: fluorescence-like, not SEM, and
stored as a wide type, unlike the embedded 8-bit PNGs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EXPERIMENT, REPO, apply_offline_env, embedded_dataset, md_table, rudratune  # noqa: E402

SIZE, EPOCHS, TRIALS = 64, 5, 6
SPACE = """experiment: {experiment}
search:
  num_samples: {trials}
  max_concurrent: 2
  searcher: {{name: optuna, seed: {seed}}}
  scheduler: {{name: asha, grace_period: 2, reduction_factor: 2}}
resources: {{cpu: 1, gpu: 0}}
space:
  data.root: {{value: {root}}}
  data.image_size: {{value: {size}}}
  trainer.max_epochs: {{value: {epochs}}}
  seed: {{value: {seed}}}
  model.name: {{value: smp.Unet}}
  model.encoder: {{value: resnet18}}
  loss.name: {{values: [GeneralizedDiceLoss, DiceLoss, DiceFocalLoss]}}
  optimizer.lr: {{distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}}
"""


def nuclei16(out: Path, n: int = 96, size: int = 128, seed: int = 7) -> Path:
    """The second dataset (see the module docstring); written once."""
    import tifffile
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    if (out / "images").is_dir():
        return out
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for i in range(n):
        mask = np.zeros((size, size), bool)
        signal = np.zeros((size, size), np.float32)
        for _ in range(int(rng.integers(4, 14))):
            r = float(rng.uniform(3, 12))
            cy, cx = rng.uniform(0, size, 2)
            blob = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            mask |= blob
            signal += blob * float(rng.uniform(900, 2600))
        gradient = 900 + 300 * (xx / size) * rng.uniform(0.5, 1.5) + 200 * (yy / size) * rng.uniform(-1, 1)
        image = (
            gradient + gaussian_filter(signal, sigma=1.5) + gaussian_filter(rng.normal(0, 60, mask.shape), 3)
        )
        image = rng.poisson(np.clip(image, 1, None) / 4.0) * 4.0  # shot noise of a 12-bit detector
        tifffile.imwrite(out / "images" / f"cell_{i:03d}.tif", np.clip(image, 0, 4095).astype(np.uint16))
        Image.fromarray((mask * 255).astype(np.uint8)).save(out / "masks" / f"cell_{i:03d}.png")
    return out


def evaluate(predictor: Any, files: list[Path], masks: list[np.ndarray]) -> tuple[float, float, float]:
    """Mean and standard error of the per-image test Dice at the images' own size, and seconds per image
    (wall time, loading each network once included)."""
    from rudratune.inference import probabilities, read_image
    from rudratune.inference.ensemble import per_image_dice

    raws = [read_image(f) for f in files]
    start = time.perf_counter()
    probs = [p for i in range(0, len(raws), 16) for p in probabilities(predictor, raws[i : i + 16])]
    seconds = (time.perf_counter() - start) / len(raws)
    d = per_image_dice(probs, masks)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), seconds


def _trained(out: Path, name: str, args: list[str], timing: dict[str, float], key: str) -> Path:
    """The run folder of ``rudratune train ... name=NAME``, trained now unless a finished one is there."""

    def finished() -> list[Path]:
        return [
            p
            for p in sorted((out / "train").glob(f"{name}-*"))
            if (p / "artifacts" / "metrics.json").is_file()
        ]

    if not finished():
        timing[key] = rudratune([*args, f"name={name}", "-q"], out, out / "logs" / f"{name}.log").wall_s
    return finished()[-1]


def one(dataset: str, root: Path, seed: int, out: Path) -> dict[str, Any]:
    from rudratune.inference import Choice, Predictor, load_source
    from rudratune.inference.ensemble import split_files
    from rudratune.inference.sources import kept_rows, trial_member
    from rudratune.search.record import load_record

    logs = out / "logs"
    name = f"a3-{dataset}-s{seed}"
    space = out / f"{name}.yaml"
    space.write_text(
        SPACE.format(experiment=EXPERIMENT, seed=seed, trials=TRIALS, root=root, size=SIZE, epochs=EPOCHS)
    )
    sweep = out / name
    timing: dict[str, float] = {}
    if not (sweep / "results.json").is_file():  # a rerun after a failure further on keeps what is done
        timing["sweep"] = rudratune(
            ["run", str(space), "--name", name, "--no-report"], out, logs / f"{name}.log"
        ).wall_s
    common = [f"data.root={root}", f"data.image_size={SIZE}", f"trainer.max_epochs={EPOCHS}", f"seed={seed}"]
    recipe_dir = _trained(out, f"recipe-{name}", ["train", str(EXPERIMENT), *common], timing, "recipe")
    best_yaml = out / f"{name}-best.yaml"
    if not best_yaml.is_file():
        rudratune(["export", str(sweep), "-o", str(best_yaml)], out, logs / f"{name}-export.log")
    retrain_dir = _trained(out, f"best-{name}", ["train", str(best_yaml)], timing, "retrain")
    chosen = rudratune(
        ["export", str(sweep), "--ensemble", "3", "-o", str(out / f"{name}-ensemble.yaml"), "--force"],
        out,
        logs / f"{name}-ensemble.log",
    )
    choice_text = chosen.log.read_text(errors="replace")

    record = load_record(sweep)
    members = [trial_member(record, row) for row in kept_rows(record)[:3]]
    files, masks = split_files(members[0], "test", str(out))
    sources = {
        "recipe": load_source(recipe_dir),
        "best trial retrained": load_source(retrain_dir),
        "best trial as trained in the sweep": load_source(sweep, Choice(sweep="best")),
        f"ensemble top-{len(members)}": Predictor(members, tta=False),
        f"ensemble top-{len(members)} + TTA": Predictor(members, tta=True),
        "best trial + TTA": Predictor(members[:1], tta=True),
        "export's choice (validation)": load_source(out / f"{name}-ensemble.yaml"),
    }
    rows = {}
    for label, predictor in sources.items():
        mean, se, s = evaluate(predictor, files, masks)
        rows[label] = {
            "dice": mean,
            "se": se,
            "s_per_image": s,
            "passes": len(predictor.members) * (4 if predictor.tta else 1),
        }
    return {
        "dataset": dataset,
        "seed": seed,
        "test_images": len(files),
        "rows": rows,
        "timing_s": timing,
        "export_choice": [line.strip() for line in choice_text.splitlines() if "<- chosen" in line],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", default="embedded,nuclei16")
    parser.add_argument("--output-root", type=Path, default=REPO / "runs" / "a3")
    parser.add_argument("--out", type=Path, default=None, help="markdown file (default: OUTPUT_ROOT/A3.md)")
    args = parser.parse_args()
    apply_offline_env()
    out = args.output_root.resolve()
    out.mkdir(parents=True, exist_ok=True)
    roots = {
        "embedded": lambda: embedded_dataset(out),
        "nuclei16": lambda: nuclei16(out / "datasets" / "nuclei16"),
    }
    results = []
    for dataset in args.datasets.split(","):
        root = roots[dataset]()
        for seed in map(int, args.seeds.split(",")):
            print(f"[A3] {dataset} seed {seed}", file=sys.stderr, flush=True)
            results.append(one(dataset, root, seed, out))
            (out / "a3.json").write_text(json.dumps(results, indent=2))
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        mine = [r for r in results if r["dataset"] == dataset]
        labels = list(mine[0]["rows"])
        table = []
        for label in labels:
            dice = [r["rows"][label]["dice"] for r in mine]
            seconds = [r["rows"][label]["s_per_image"] for r in mine]
            table.append(
                [
                    label,
                    f"{statistics.mean(dice):.4f}"
                    + (f" ± {statistics.stdev(dice):.4f}" if len(dice) > 1 else ""),
                    " / ".join(f"{d:.4f}" for d in dice),
                    str(mine[0]["rows"][label]["passes"]),
                    f"{statistics.mean(seconds) * 1e3:.1f}",
                ]
            )
        lines += [f"### {dataset}: {len(mine)} seeds, {mine[0]['test_images']} test images each", ""]
        lines += md_table(
            ["source", "test Dice, mean ± sd over seeds", "per seed", "forward passes / image", "ms / image"],
            table,
        )
        lines += (
            [""]
            + [
                f"- seed {r['seed']}: `export --ensemble 3` chose (members, tta, passes, val Dice, gain, SE): "
                + " ".join(r["export_choice"][-1:])
                for r in mine
            ]
            + [""]
        )
    text = "\n".join(lines)
    (args.out or out / "A3.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
