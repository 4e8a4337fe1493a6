"""P3 search efficiency at an equal budget: ASHA + TPE against random search with FIFO.

Both arms get the same budget of trial-epochs, B = N trials x E epochs. Random + FIFO runs N trials to E
epochs; ASHA + TPE runs ``search.num_samples`` large with ``search.budget_trial_epochs = B`` and so runs as
many trials as ASHA's stopping lets the budget pay for. The space (``p3_space.yaml``) varies the
architecture and the loss and is ranked by val_dice. Each seed sets the experiment's seed (so the split
and the initialisation change) and the searcher's.

From every trial's ``result.json``, each epoch's val_dice becomes an event at the time it was reported
(Tune's whole-second ``timestamp``, ties broken by the trial's first step + its elapsed time); in that
order the best val_dice so far is the arm's anytime curve over cumulative trial-epochs, cut at B.
(a) median over seeds of the best so far at 25, 50 and 100 % of B; (b) the fraction of B that ASHA + TPE's
median curve needs to reach random + FIFO's final median best; (c) each arm's best configuration,
exported and retrained (``export`` -> ``train``, same epochs), scored on the test split.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import (
    BENCH_DIR,
    drop_checkpoints,
    figure,
    md_table,
    read_trials,
    small_dataset,
    tiny_dataset,
    verdict,
)

if TYPE_CHECKING:
    from rudratune.search.record import RungDecision

SPACE = BENCH_DIR / "p3_space.yaml"
PNG = "p3_search_efficiency.png"
GOAL_FRACTION = 0.35
GOAL_WINS = 4
ARMS = ("random+FIFO", "ASHA+TPE")
POINTS = (0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Size:
    trials: int
    epochs: int
    image_size: int
    seeds: tuple[int, ...]

    @property
    def budget(self) -> int:
        return self.trials * self.epochs


FULL = Size(trials=12, epochs=8, image_size=32, seeds=(0, 1, 2, 3, 4))
SMOKE = Size(trials=2, epochs=2, image_size=32, seeds=(0,))


SEEDS_ENV = "RUDRATUNE_BENCH_SEEDS"
"""Comma-separated seeds to run instead of the full set (e.g. to summarize the seeds a cut-short run finished)."""


def size_for(smoke: bool) -> Size:
    if smoke:
        return SMOKE
    seeds = os.environ.get(SEEDS_ENV)
    return replace(FULL, seeds=tuple(int(s) for s in seeds.split(","))) if seeds else FULL


def data_root(size: Size, output_root: Path) -> Path:
    return tiny_dataset(output_root) if size is SMOKE else small_dataset(output_root)


def overrides(arm: str, seed: int, size: Size, data_root: Path) -> list[str]:
    shared = [
        "tracking.mlflow=false",
        "tracking.wandb=false",
        f"data.root={data_root}",
        f"data.image_size={size.image_size}",
        f"trainer.max_epochs={size.epochs}",
        f"seed={seed}",
        f"search.searcher.seed={seed}",
    ]
    if arm == "random+FIFO":
        return [
            *shared,
            "search.searcher.name=random",
            "search.scheduler.name=fifo",
            f"search.num_samples={size.trials}",
        ]
    return [*shared, "search.num_samples=1000", f"search.budget_trial_epochs={size.budget}"]


def arm_dir(output_root: Path, arm: str, seed: int) -> Path:
    return output_root / "p3" / f"{arm.replace('+', '-').lower()}-seed{seed}"


def run_arm(arm: str, seed: int, size: Size, output_root: Path) -> dict[str, Any]:
    """One sweep and the retrain of its best config; cached in ``arm.json`` (P8 reuses it)."""
    run_dir = arm_dir(output_root, arm, seed)
    cached = run_dir / "arm.json"
    if cached.exists():
        return json.loads(cached.read_text())
    from rudratune.data.source import load_data
    from rudratune.search.driver import execute, finish, load_sweep_data
    from rudratune.search.record import RungDecision, record_for
    from rudratune.search.space import load_sweep

    root = data_root(size, output_root)
    swp = load_sweep(SPACE, overrides(arm, seed, size, root))
    run_dir.mkdir(parents=True)
    record = record_for(run_dir, swp, storage=None, output_root=output_root)
    record.save()
    outcome = execute(record, load_sweep_data(swp, output_root))
    data = load_data(str(root), output_root)
    if not finish(record, outcome).best:
        raise RuntimeError(f"sweep {run_dir.name} ended without results; see {run_dir}")
    result = {"curve": anytime_curve(run_dir, size.budget), "trials": len(read_trials(run_dir))}
    result["first_rung"] = rung_text(RungDecision.read(run_dir))
    drop_checkpoints(run_dir)
    result.update(retrain_best(run_dir, data, output_root))
    cached.write_text(json.dumps(result))
    return result


def rung_text(decision: RungDecision | None) -> str:
    """ASHA's measured first rung in a few words (``–`` for FIFO, which writes no decision)."""
    if decision is None:
        return "–"
    grace = decision.grace_period
    rho = decision.spearman.get(grace, 0.0) if grace else 0.0
    return f"epoch {grace} (Spearman {rho:.2f})" if grace else "none (no epoch agreed)"


def anytime_curve(run_dir: Path, budget: int) -> list[float]:
    """Best val_dice so far after each trial-epoch, in the order they were reported, cut at the budget."""
    events = []
    for trial in read_trials(run_dir):
        for row in trial.rows:
            events.append(
                (row["timestamp"], (trial.first_step_at or 0) + row["time_total_s"], row["val_dice"])
            )
    best, curve = 0.0, []
    for *_, dice in sorted(events)[:budget]:
        best = max(best, dice)
        curve.append(best)
    return curve


def retrain_best(run_dir: Path, data: Any, output_root: Path) -> dict[str, Any]:
    """``rudratune export`` of the sweep, then ``train`` of the exported config (in this process)."""
    from rudratune.commands.export import best_config
    from rudratune.config.experiment import experiment_from_dict
    from rudratune.train.loop import train

    exported, _ = best_config(run_dir)
    cfg = experiment_from_dict(exported, source=f"{run_dir} export")
    retrain_dir = output_root / "retrain" / run_dir.name
    result = train(cfg, data, retrain_options(retrain_dir))
    drop_checkpoints(retrain_dir)  # scored already; each is ~280 MB of weights + optimizer state
    return {"test_dice": result.test["test_dice"], "config": exported["provenance"]["params"]}


def retrain_options(run_dir: Path) -> Any:
    from rudratune.train.loop import RunOptions

    return RunOptions(run_dir=run_dir, cpus=2, artifacts=False, progress=False)


def median_curve(curves: list[list[float]], length: int) -> list[float]:
    padded = [c + [c[-1]] * (length - len(c)) for c in curves]
    return [statistics.median(values) for values in zip(*padded, strict=True)]


def at_fraction(curve: list[float], fraction: float, budget: int) -> float:
    return curve[max(1, round(fraction * budget)) - 1]


def epochs_to_reach(curve: list[float], target: float) -> int | None:
    return next((i + 1 for i, v in enumerate(curve) if v >= target), None)


def plot(
    curves: dict[str, list[list[float]]], medians: dict[str, list[float]], path: Path, title: str
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (arm, runs), color in zip(curves.items(), ("tab:orange", "tab:blue"), strict=True):
        for c in runs:
            ax.plot(range(1, len(c) + 1), c, color=color, alpha=0.25, lw=1, drawstyle="steps-post")
        ax.plot(
            range(1, len(medians[arm]) + 1),
            medians[arm],
            color=color,
            lw=2.2,
            drawstyle="steps-post",
            label=f"{arm} (median of {len(runs)} seeds)",
        )
    budget = len(next(iter(medians.values())))
    for fraction in POINTS:
        ax.axvline(fraction * budget, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("cumulative trial-epochs (budget spent)")
    ax.set_ylabel("best val Dice so far")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    size = size_for(smoke)
    results: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    for seed in size.seeds:
        for arm in ARMS:
            print(f"  P3 {arm} seed {seed}", file=sys.stderr, flush=True)
            results[arm].append(run_arm(arm, seed, size, output_root))
    return summarize(results, size, output_root, smoke)


def summarize(
    results: dict[str, list[dict[str, Any]]], size: Size, output_root: Path, smoke: bool
) -> dict[str, Any]:
    curves = {arm: [r["curve"] for r in runs] for arm, runs in results.items()}
    medians = {arm: median_curve(runs, size.budget) for arm, runs in curves.items()}
    target = medians["random+FIFO"][-1]
    needed = epochs_to_reach(medians["ASHA+TPE"], target)
    fraction = needed / size.budget if needed else None
    wins = sum(a[-1] > r[-1] for a, r in zip(curves["ASHA+TPE"], curves["random+FIFO"], strict=True))
    test = {arm: statistics.median(r["test_dice"] for r in runs) for arm, runs in results.items()}

    rows = []
    for i, seed in enumerate(size.seeds):
        r, a = results["random+FIFO"][i], results["ASHA+TPE"][i]
        rows.append(
            [
                seed,
                r["trials"],
                f"{r['curve'][-1]:.4f}",
                f"{r['test_dice']:.4f}",
                a["trials"],
                f"{a['curve'][-1]:.4f}",
                f"{a['test_dice']:.4f}",
                epochs_to_reach(a["curve"], r["curve"][-1]) or "not reached",
                a.get("first_rung", "?"),
            ]
        )
    table = md_table(
        [
            "seed",
            "random+FIFO trials",
            "its best val Dice",
            "its retrained test Dice",
            "ASHA+TPE trials",
            "its best val Dice",
            "its retrained test Dice",
            f"ASHA+TPE trial-epochs to reach random's best (of {size.budget})",
            "ASHA's measured first rung",
        ],
        rows,
    )
    anytime = md_table(
        [
            "arm",
            *(
                f"median best val Dice at {int(p * 100)} % ({round(p * size.budget)} trial-epochs)"
                for p in POINTS
            ),
            "median retrained test Dice",
        ],
        [
            [arm, *(f"{at_fraction(medians[arm], p, size.budget):.4f}" for p in POINTS), f"{test[arm]:.4f}"]
            for arm in ARMS
        ],
    )
    png = plot(
        curves,
        medians,
        output_root / PNG,
        f"P3: best val Dice vs budget ({size.trials} x {size.epochs} "
        f"trial-epochs, {size.image_size} px, {len(size.seeds)} seeds)",
    )
    met_b = fraction is not None and fraction <= GOAL_FRACTION
    record = json.loads((arm_dir(output_root, "ASHA+TPE", size.seeds[0]) / "sweep.json").read_text())
    startup = record["searcher"]["n_startup_trials"]
    needed_goal = min(GOAL_WINS, len(size.seeds))
    conditions = (
        f"`experiments/benchmarks/p3_space.yaml` (model.name x encoder x loss.name (+ gamma) x lr, ranked by "
        f"val_dice), {'16' if smoke else '64'} pairs of the embedded generator at 64 px (train / val / test "
        f"{'10 / 3 / 3' if smoke else '40 / 12 / 12'}, the split drawn by the seed) resized to {size.image_size} px, {size.epochs} epochs, budget {size.budget} "
        f"trial-epochs per sweep ({size.trials} random+FIFO trials x {size.epochs}); ASHA+TPE with rudratune's "
        f"defaults (TPE multivariate/group/constant_liar, {startup} start-up trials; ASHA grace "
        f"period auto (measured after 6 trials ran every epoch), reduction 3, on rank_val_dice: the running best val Dice, ties broken by val_ref_loss) and `search.num_samples=1000 search.budget_trial_epochs={size.budget}`; "
        f"2 trials at a time, 1 CPU each; seeds {', '.join(map(str, size.seeds))} (experiment seed, so the split, "
        "and searcher seed). Retrain: the exported best config, same epochs, test Dice of its best checkpoint."
        + (
            " Smoke: one seed and a 4-epoch budget check that it runs; the figures mean nothing."
            if smoke
            else ""
        )
    )
    return {
        "title": "P3 search efficiency",
        "conditions": conditions,
        "table": [*anytime, "", *table, "", f"![P3: best val Dice against the budget spent]({PNG})"],
        "figures": [
            figure(
                "P3 (b) fraction of the budget ASHA+TPE needs to reach random+FIFO's final best",
                fraction,
                f"{fraction:.2f}" if fraction is not None else "not reached",
                goal=f"≤ {GOAL_FRACTION}",
                met=met_b,
                meaning=(
                    f"ASHA+TPE's median curve reaches random+FIFO's final median best val Dice ({target:.4f}) "
                    f"after {needed} of {size.budget} trial-epochs"
                    if needed
                    else f"ASHA+TPE's median curve never reaches random+FIFO's final median best val Dice "
                    f"({target:.4f}; its own: {medians['ASHA+TPE'][-1]:.4f})"
                )
                + f": {verdict(met_b)}.",
            ),
            figure(
                "P3 seeds where ASHA+TPE's best val Dice beats random+FIFO's at 100 %",
                wins,
                f"{wins} of {len(size.seeds)}",
                goal=f"≥ {needed_goal} of {len(size.seeds)}",
                met=wins >= needed_goal,
                meaning=f"At the full budget: {verdict(wins >= needed_goal)}.",
            ),
            figure(
                "P3 (c) median retrained test Dice, ASHA+TPE vs random+FIFO",
                test["ASHA+TPE"] - test["random+FIFO"],
                f"{test['ASHA+TPE']:.4f} vs {test['random+FIFO']:.4f}",
                goal="ASHA+TPE ≥ random+FIFO",
                met=test["ASHA+TPE"] >= test["random+FIFO"],
                meaning="Each arm's best configuration retrained (export -> train, the same epochs) and scored on "
                f"the test split, median over seeds: {verdict(test['ASHA+TPE'] >= test['random+FIFO'])}.",
            ),
        ],
        "artifacts": [png],
        "raw": {"results": results, "medians": medians},
    }
