"""P8 tuned beats default: the search's exported best config, retrained, against the recipe's default.

For each seed (the experiment seed, so the split and the initialisation change too): the ASHA + TPE sweep
of P3 (same space, budget and sizes; reused when P3 ran in the same output root) is exported and
retrained, and ``experiments/rudraksha.yaml`` is trained as shipped at the same image size and epochs.
Both are scored on that seed's test split (best checkpoint). The figure is the mean test Dice of each
(± the standard deviation over seeds), the mean paired difference, and the search's cost in trial-epochs.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from common import EXPERIMENT, drop_checkpoints, figure, md_table, verdict
from p3_search_efficiency import data_root, retrain_options, run_arm, size_for

PNG = "p8_tuned_vs_default.png"


def train_default(seed: int, smoke: bool, output_root: Path) -> float:
    """Test Dice of the recipe at the benchmark's image size and epochs; cached in ``default.json``."""
    size = size_for(smoke)
    cached = output_root / "p7" / f"default-seed{seed}.json"
    if cached.exists():
        return json.loads(cached.read_text())["test_dice"]
    from rudratune.config.experiment import load_experiment
    from rudratune.data.source import load_data
    from rudratune.train.loop import train

    root = data_root(size, output_root)
    cfg = load_experiment(
        EXPERIMENT,
        [
            f"data.root={root}",
            f"data.image_size={size.image_size}",
            f"trainer.max_epochs={size.epochs}",
            f"seed={seed}",
            "tracking.mlflow=false",
            "tracking.wandb=false",
            "trainer.threads=1",
        ],
    )
    result = train(
        cfg, load_data(str(root), output_root), retrain_options(cached.parent / f"default-seed{seed}")
    )
    drop_checkpoints(cached.parent / f"default-seed{seed}")  # scored already
    cached.write_text(json.dumps({"test_dice": result.test["test_dice"]}))
    return result.test["test_dice"]


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def plot(default: list[float], tuned: list[float], seeds: tuple[int, ...], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for x, values, color in ((0, default, "tab:grey"), (1, tuned, "tab:blue")):
        ax.bar(x, statistics.fmean(values), yerr=spread(values), color=color, alpha=0.5, capsize=6)
        ax.scatter([x] * len(values), values, color=color, zorder=3)
    for d, t in zip(default, tuned, strict=True):
        ax.plot([0, 1], [d, t], color="black", alpha=0.3, lw=0.8)
    ax.set_xticks([0, 1], ["recipe default", "tuned (export -> train)"])
    ax.set_ylabel("test Dice")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    size = size_for(smoke)
    seeds = size.seeds
    default, tuned, configs = [], [], []
    for seed in seeds:
        print(f"  P8 seed {seed}", file=sys.stderr, flush=True)
        arm = run_arm("ASHA+TPE", seed, size, output_root)
        tuned.append(arm["test_dice"])
        configs.append(arm["config"])
        default.append(train_default(seed, smoke, output_root))
    diffs = [t - d for t, d in zip(tuned, default, strict=True)]
    met = statistics.fmean(tuned) > statistics.fmean(default)
    rows = [
        [
            seed,
            f"{d:.4f}",
            f"{t:.4f}",
            f"{t - d:+.4f}",
            ", ".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in c.items()),
        ]
        for seed, d, t, c in zip(seeds, default, tuned, configs, strict=True)
    ]
    summary = (
        f"default {statistics.fmean(default):.4f} ± {spread(default):.4f}, tuned {statistics.fmean(tuned):.4f} "
        f"± {spread(tuned):.4f} (mean ± sd over {len(seeds)} seeds)"
    )
    png = plot(
        default,
        tuned,
        seeds,
        output_root / PNG,
        f"P8: test Dice, {size.image_size} px, {size.epochs} epochs; search cost {size.budget} trial-epochs",
    )
    return {
        "title": "P8 tuned vs default",
        "conditions": (
            f"per seed ({', '.join(map(str, seeds))}; the experiment seed changes the split): the recipe "
            f"`experiments/rudraksha.yaml` (smp.DeepLabV3Plus resnet34, GeneralizedDiceLoss, Adam 1e-3, plateau) "
            f"against P3's ASHA+TPE sweep of the same seed ({size.budget} trial-epochs), exported and retrained; "
            f"both at {size.image_size} px for {size.epochs} epochs on P3's data, 1 torch thread, test Dice "
            "of the best checkpoint (val_loss)."
            + (" Smoke: one seed, tiny data; the figure means nothing." if smoke else "")
        ),
        "table": [
            *md_table(
                ["seed", "default test Dice", "tuned test Dice", "tuned − default", "tuned config"], rows
            ),
            "",
            f"![P8: test Dice of the recipe and of the tuned config]({PNG})",
        ],
        "figures": [
            figure(
                "P8 tuned − default test Dice, mean over seeds",
                statistics.fmean(diffs),
                f"{statistics.fmean(diffs):.4f}",
                goal="> 0",
                met=met,
                meaning=f"{summary}; mean paired difference {statistics.fmean(diffs):+.4f} "
                f"(tuned ahead in {sum(d > 0 for d in diffs)} of {len(seeds)} seeds), for a search of "
                f"{size.budget} trial-epochs: {verdict(met)}.",
            ),
        ],
        "artifacts": [png],
        "raw": {"default": default, "tuned": tuned},
    }


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value).removeprefix("smp.")
