"""P3 search efficiency: ASHA + TPE against random search with FIFO, at equal trials and max epochs.

Each sweep runs through rudratune's own driver (``execute`` + ``finish``, in this process, trackers off:
they do not change what is searched). From every trial's ``result.json``, each epoch's val_loss becomes
an event at the time it was reported (Tune's whole-second ``timestamp``, ties broken by the trial's
first step + its elapsed time); in that order, the best val_loss so far is plotted against cumulative
trial-epochs, averaged over seeds (a finished sweep keeps its final best). The figure is the fraction of
random + FIFO's mean epochs that ASHA + TPE's mean curve needs to reach random + FIFO's mean final best.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from common import QUICKSTART, dataset_root, drop_checkpoints, figure, md_table, read_trials, verdict

GOAL = 0.35
ARMS = {
    "ASHA+TPE": [],
    "random+FIFO": ["search.searcher.name=random", "search.scheduler.name=fifo"],
}
PNG = "p3_search_efficiency.png"


def settings(smoke: bool, output_root: Path) -> tuple[list[str], tuple[int, ...]]:
    """Overrides of the quickstart space shared by both arms, and the seeds."""
    common = ["tracking.mlflow=false", "tracking.wandb=false"]
    if smoke:
        root = dataset_root(True, output_root)
        tiny = [
            f"data.root={root}",
            "data.image_size=32",
            "data.batch_size=4",
            "search.num_samples=3",
            "trainer.max_epochs=2",
        ]
        tiny.append(
            "search.max_concurrent=1"
        )  # one trial worker to start (its imports are most of a tiny sweep), not two
        return [*common, *tiny], (0,)
    dataset_root(False, output_root)
    return [*common, "search.num_samples=12", "trainer.max_epochs=8", "data.image_size=64"], (0, 1, 2)


def sweep(name: str, overrides: list[str], output_root: Path) -> list[float]:
    """Run one sweep; return its best val_loss so far after each trial-epoch, in the order they were reported."""
    from rudratune.search.datasets import load_sweep_data
    from rudratune.search.finish import finish
    from rudratune.search.record import record_for
    from rudratune.search.runner import execute
    from rudratune.search.space import load_sweep

    swp = load_sweep(QUICKSTART, overrides)
    run_dir = output_root / name
    run_dir.mkdir(parents=True)
    record = record_for(run_dir, swp, storage=None, output_root=output_root)
    record.save()
    outcome = execute(record, load_sweep_data(swp, output_root))
    if not finish(record, outcome).best:
        raise RuntimeError(f"sweep {name} ended without results; see {run_dir}")
    events = []
    for trial in read_trials(run_dir):
        for row in trial.rows:
            precise = (trial.first_step_at or 0) + row["time_total_s"]
            events.append((row["timestamp"], precise, row["val_loss"]))
    drop_checkpoints(run_dir)
    best, curve = float("inf"), []
    for *_, loss in sorted(events):
        best = min(best, loss)
        curve.append(best)
    return curve


def mean_curve(curves: list[list[float]], length: int) -> list[float]:
    padded = [c + [c[-1]] * (length - len(c)) for c in curves]
    return [statistics.fmean(values) for values in zip(*padded, strict=True)]


def epochs_to_reach(curve: list[float], target: float) -> int | None:
    return next((i + 1 for i, v in enumerate(curve) if v <= target), None)


def plot(curves: dict[str, list[list[float]]], means: dict[str, list[float]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (arm, runs), color in zip(curves.items(), ("tab:blue", "tab:orange"), strict=True):
        for c in runs:
            ax.plot(range(1, len(c) + 1), c, color=color, alpha=0.25, lw=1, drawstyle="steps-post")
        longest = max(len(c) for c in runs)
        ax.plot(
            range(1, longest + 1),
            means[arm][:longest],
            color=color,
            lw=2.2,
            drawstyle="steps-post",
            label=f"{arm} (mean of {len(runs)})",
        )
    ax.set_xlabel("cumulative trial-epochs")
    ax.set_ylabel("best val_loss so far")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    shared, seeds = settings(smoke, output_root)
    curves: dict[str, list[list[float]]] = {arm: [] for arm in ARMS}
    for seed in seeds:
        for arm, extra in ARMS.items():
            print(f"  P3 {arm} seed {seed}", file=sys.stderr, flush=True)
            name = f"p3-{arm.replace('+', '-').lower()}-seed{seed}"
            curves[arm].append(sweep(name, [*shared, *extra, f"search.searcher.seed={seed}"], output_root))

    length = max(len(c) for runs in curves.values() for c in runs)
    means = {arm: mean_curve(runs, length) for arm, runs in curves.items()}
    random_epochs = statistics.fmean(len(c) for c in curves["random+FIFO"])
    asha_epochs = statistics.fmean(len(c) for c in curves["ASHA+TPE"])
    target = statistics.fmean(c[-1] for c in curves["random+FIFO"])
    needed = epochs_to_reach(means["ASHA+TPE"], target)
    fraction = needed / random_epochs if needed else None
    met = fraction is not None and fraction <= GOAL

    rows = []
    for i, seed in enumerate(seeds):
        r, a = curves["random+FIFO"][i], curves["ASHA+TPE"][i]
        n = epochs_to_reach(a, r[-1])
        rows.append(
            [
                seed,
                len(r),
                f"{r[-1]:.4f}",
                len(a),
                f"{a[-1]:.4f}",
                n or "not reached",
                f"{n / len(r):.2f}" if n else "–",
            ]
        )
    table = md_table(
        ["seed", "random+FIFO epochs", "its best val_loss", "ASHA+TPE epochs", "its best val_loss",
         "ASHA+TPE epochs to reach random's best", "fraction"], rows,
    )  # fmt: skip
    conditions = (
        f"quickstart space, `{' '.join(shared)}`, seeds {', '.join(map(str, seeds))} (`search.searcher.seed`)"
        + (
            "; smoke: one seed, and 3 trials are fewer than TPE's 4 start-up trials and 2 epochs leave ASHA nothing to stop, "
            "so both arms search at random."
            if smoke
            else "."
        )
    )
    title = f"P3: best val_loss vs trial-epochs ({'smoke' if smoke else 'quickstart, 12 trials x 8 epochs'})"
    png = plot(curves, means, output_root / PNG, title)
    text = f"{fraction:.2f}" if fraction is not None else "not reached"
    reached = (
        f"ASHA+TPE reached random+FIFO's mean final best val_loss ({target:.4f}) after {needed} trial-epochs, "
        f"{fraction:.2f} of random+FIFO's {random_epochs:.0f}"
        if fraction is not None
        else f"ASHA+TPE never reached random+FIFO's mean final best val_loss ({target:.4f}; its own: {means['ASHA+TPE'][-1]:.4f})"
    )
    return {
        "title": "P3 search efficiency",
        "conditions": conditions,
        "table": [*table, "", f"![P3: best val_loss against cumulative trial-epochs]({PNG})"],
        "figures": [
            figure(
                "P3 ASHA+TPE epochs to reach random+FIFO's best / random+FIFO's epochs",
                fraction,
                text,
                goal=f"≤ {GOAL}",
                met=met,
                meaning=f"{reached} (mean curves over {len(seeds)} seed(s); ASHA+TPE used {asha_epochs:.0f} epochs in all): "
                f"{verdict(met)} (≤ {GOAL}).",
            ),
        ],  # fmt: skip
        "artifacts": [png],
        "raw": {"curves": curves, "target": target, "needed": needed},
    }
