"""P9 LCBench: rudratune's own search on a public benchmark, the YAHPO Gym LCBench surrogate.

    python experiments/benchmarks/p9_lcbench.py [--instances 167168,189873,189906] [--seeds 10] [--budget 6544]
        [--data ../shared/benchmarks/yahpo] [--arms ...] [--smoke] [--out P9.md] [--figure PNG] [--output-root DIR]

Needs onnxruntime (``pip install -e '.[bench]'``) and the yahpo data folder (``--data``, default
``../shared/benchmarks/yahpo`` beside the repository, or ``$RUDRATUNE_YAHPO_DATA``).

What runs is a rudratune sweep: ``rudratune.search.space.Sweep`` with LCBench's 7 hyperparameters as
``Param``s (batch_size and max_units int log-uniform, learning_rate log-uniform, momentum, weight_decay and
max_dropout uniform, num_layers int uniform, YAHPO's ranges), run by rudratune's ``build_tuner`` (its
OptunaSearch TPE or random sampler behind a ConcurrencyLimiter, its ASHA / measured-rung ASHA / FIFO, its
trial-epoch budget stopper) with ``reuse_actors=True``. Every call into rudratune is in ``rudratune_sweep``
below. The trial is a function that asks the surrogate for the configuration's learning curve (one batched
query) and reports one epoch at a time with ``ray.tune.report``.

Metric mapping (a sweep's metric must be one of rudratune's trained metrics):

- ``val_dice`` = LCBench's val_accuracy / 100 (a fraction) at that epoch;
- ``rank_val_dice`` = ``best_val_dice`` = its running best (what ASHA and the searcher rank on);
- ``epoch`` = the LCBench epoch (the fidelity), 1..52 (``trainer.max_epochs`` = ASHA's max_t = 52);
- ``val_accuracy`` = the surrogate's value in percent, as LCBench states it.

Arms (η = reduction factor 3 everywhere):

- ``random+FIFO``: Optuna's RandomSampler, every trial to 52 epochs;
- ``TPE+FIFO``: rudratune's TPE, every trial to 52 epochs;
- ``TPE+ASHA(g1)``: TPE + Ray's ASHA with grace period 1 (rungs 1, 3, 9, 27);
- ``default``: rudratune's default, TPE + ASHA with ``grace_period: auto`` (the measured first rung);
  Its searcher tells a trial ASHA stopped to Optuna as PRUNED, with every epoch's value (issue 18 item 2; the
  first protocol runs measured it as an arm of its own, ``default+PRUNED``, before it became the default);
- ``default+startup/5`` (another): as ``default``, with TPE's random start-up trials a fifth of the budget's
  full curves (25 at 6,544 epochs) instead of rudratune's cap of 10: the first protocol runs showed TPE
  settling on a local plateau after 10 random trials (189873: every TPE arm stuck near 58 % val_accuracy,
  random search at 75 %).

Every arm gets the same budget of trial-epochs (``--budget``, YAHPO's 6,544 by default: about 126 full
curves). The driver records every result in the order Tune hands it over; the arm's anytime curve is the best
val_accuracy seen so far (at any epoch of any trial) against the trial-epochs spent, cut at the budget.
Normalised regret = (max - best so far) / (max - min), with the instance's min and max val_accuracy from
``global_statistics/instance_target_statistics.csv`` (YAHPO's normalisation). Nothing here knows the instance:
any LCBench task id runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import lcbench_surrogate as lcb  # noqa: E402

PNG = "p9_lcbench.png"
POINTS = (0.25, 0.5, 1.0)
ETA = 3
PROTOCOL_INSTANCES = ("167168", "189873", "189906")
PROTOCOL_BUDGET = 6544
PROTOCOL_SEEDS = 10
SMOKE_BUDGET = 8 * lcb.MAX_EPOCH  # 416: enough for the measured rung (6 full curves) to be placed
PUBLISHED = {"TPE with median pruning": 2.4, "SMAC-HB": 3.9}
"""random's regret / the optimizer's, read off YAHPO's published figures (issue 18)."""
GOAL_RATIO, GOAL_FRACTION = 2.4, 0.35
RANDOM, TPE_FIFO, DEFAULT = "random+FIFO", "TPE+FIFO", "default"


@dataclass(frozen=True)
class Arm:
    name: str
    searcher: str
    """rudratune's ``search.searcher.name``: ``optuna`` (TPE) or ``random``."""
    scheduler: str
    """``fifo`` or ``asha``."""
    grace: int | str = "auto"
    startup_fifth: bool = False
    """TPE's random start-up trials: a fifth of the budget's full curves (budget / max_t / 5, 25 at 6,544
    epochs) instead of rudratune's default, which caps a fifth at 10."""


ARMS = {
    a.name: a
    for a in (
        Arm(RANDOM, "random", "fifo"),
        Arm(TPE_FIFO, "optuna", "fifo"),
        Arm("TPE+ASHA(g1)", "optuna", "asha", grace=1),
        Arm(DEFAULT, "optuna", "asha", grace="auto"),
        Arm("default+startup/5", "optuna", "asha", grace="auto", startup_fifth=True),
    )
}

SPACE: dict[str, dict[str, Any]] = {
    "batch_size": {"distribution": "int_log_uniform", "min": 16, "max": 512},
    "learning_rate": {"distribution": "log_uniform", "min": 1e-4, "max": 1e-1},
    "momentum": {"distribution": "uniform", "min": 0.1, "max": 0.99},
    "weight_decay": {"distribution": "uniform", "min": 1e-5, "max": 1e-1},
    "num_layers": {"distribution": "int_uniform", "min": 1, "max": 5},
    "max_units": {"distribution": "int_log_uniform", "min": 64, "max": 1024},
    "max_dropout": {"distribution": "uniform", "min": 0.0, "max": 1.0},
}
"""LCBench's 7 hyperparameters with YAHPO's ranges and scales (``lcbench/param_set.R``)."""


# --- the one adapter into rudratune: re-point these imports when rudratune/search/ moves ---------------


def rudratune_sweep(
    arm: Arm,
    run_dir: Path,
    trainable: Callable[..., None],
    callbacks: list[Any],
    *,
    budget: int,
    seed: int,
    max_concurrent: int,
) -> dict[str, Any] | None:
    """Run one sweep through rudratune's searcher, scheduler and Tuner set-up; returns ``rungs.json`` (or None).

    The space's keys are LCBench's names: the sweep is built as ``Sweep(...)`` directly, so no experiment
    config key is checked, and the trial reads its parameters by those names.
    """
    from ray import tune

    from rudratune.config.schema import ExperimentConfig
    from rudratune.search.driver import runner
    from rudratune.search.placement import init_ray
    from rudratune.search.record import RungDecision, record_for
    from rudratune.search.space import Param, Sweep, SweepSettings

    settings = SweepSettings.model_validate(
        {
            "experiment": "lcbench-surrogate",
            "name": run_dir.name,
            "metric": "val_dice",
            "resources": {"cpu": 1, "gpu": 0},
            "search": {
                "num_samples": budget,  # each trial costs at least one epoch: the budget ends the sweep
                "max_concurrent": max_concurrent,
                "budget_trial_epochs": budget,
                "searcher": {
                    "name": arm.searcher,
                    "seed": seed,
                    **(
                        {"n_startup_trials": max(4, budget // lcb.MAX_EPOCH // 5)}
                        if arm.startup_fifth
                        else {}
                    ),
                },
                "scheduler": {"name": arm.scheduler, "grace_period": arm.grace, "reduction_factor": ETA},
            },
        }
    )
    space = {name: Param.model_validate(spec) for name, spec in SPACE.items()}
    base = ExperimentConfig.model_validate({"trainer": {"max_epochs": lcb.MAX_EPOCH}})
    sweep = Sweep(Path("lcbench-surrogate"), settings, base, space, tuple(space))
    run_dir.mkdir(parents=True, exist_ok=True)
    record = record_for(run_dir, sweep, storage=None, output_root=run_dir.parent)
    init_ray(None)
    resources = {"cpu": settings.resources.cpu, "gpu": settings.resources.gpu}  # type: ignore[union-attr]

    # rudratune's own build_tuner; its searcher tells ASHA's stops to Optuna as PRUNED (issue 18 item 2)
    tuner = runner.build_tuner(
        record, tune.with_resources(trainable, resources), callbacks, reuse_actors=True
    )
    tuner.fit()
    return RungDecision.read(run_dir)


# --- the trial ------------------------------------------------------------------------------------------


def lcbench_trial(config: dict[str, Any], *, data_dir: str, instance: str, bench_dir: str) -> None:
    """One LCBench configuration: its surrogate curve, reported one epoch at a time."""
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    import lcbench_surrogate
    from ray import tune

    curve = _surrogate(lcbench_surrogate, data_dir).curve(config, instance)
    best = -math.inf
    for epoch, accuracy in enumerate(curve, start=1):
        best = max(best, accuracy / 100)
        tune.report(
            {
                "epoch": epoch,
                "val_dice": accuracy / 100,
                "best_val_dice": best,
                "rank_val_dice": best,
                "val_accuracy": accuracy,
            }
        )


_SESSIONS: dict[str, Any] = {}


def _surrogate(module: Any, data_dir: str) -> Any:
    """One ONNX session per worker process (actors are reused: the session is built once)."""
    if data_dir not in _SESSIONS:
        _SESSIONS[data_dir] = module.LCBench(Path(data_dir))
    return _SESSIONS[data_dir]


class ResultLog:
    """A driver-side Tune callback: every (trial, epoch, val_accuracy) in the order Tune handed it over."""

    def __new__(cls) -> Any:
        from ray import tune

        class _Log(tune.Callback):
            def __init__(self) -> None:
                self.events: list[tuple[str, int, float]] = []
                self.seen: set[tuple[str, int]] = set()

            def on_trial_result(
                self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
            ) -> None:
                key = (trial.trial_id, int(result.get("epoch", 0)))
                if key[1] >= 1 and key not in self.seen and "val_accuracy" in result:
                    self.seen.add(key)
                    self.events.append((key[0], key[1], float(result["val_accuracy"])))

        return _Log()


# --- one run: an arm on an instance with a seed -----------------------------------------------------------


@dataclass
class Run:
    arm: str
    instance: str
    seed: int
    budget: int
    best: list[float]
    """Best val_accuracy so far after each trial-epoch (length = the epochs reported, up to the budget)."""
    trials: int
    full_trials: int
    """Trials that ran all 52 epochs."""
    rung: int | None
    rung_decided: bool
    rung_spearman: float | None
    wall_s: float

    def best_at(self, fraction: float) -> float:
        k = max(1, min(len(self.best), round(fraction * self.budget)))
        return self.best[k - 1]


def run_one(arm: Arm, instance: str, seed: int, budget: int, data_dir: Path, root: Path) -> Run:
    from ray import tune

    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in arm.name)
    run_dir = root / f"{safe}-{instance}-s{seed}"
    if run_dir.exists():  # a run cut short: its Optuna study and rungs.json must not seed the new one
        shutil.rmtree(run_dir)
    log = ResultLog()
    trainable = tune.with_parameters(
        lcbench_trial, data_dir=str(data_dir), instance=instance, bench_dir=str(BENCH_DIR)
    )
    start = time.perf_counter()
    decision = rudratune_sweep(arm, run_dir, trainable, [log], budget=budget, seed=seed, max_concurrent=2)
    wall = time.perf_counter() - start
    events = log.events[:budget]
    best, running = [], -math.inf
    last: dict[str, int] = {}
    for trial_id, epoch, accuracy in events:
        running = max(running, accuracy)
        best.append(running)
        last[trial_id] = max(last.get(trial_id, 0), epoch)
    grace = decision.grace_period if decision is not None else None
    rho = decision.spearman.get(grace) if decision is not None and grace else None
    return Run(
        arm=arm.name,
        instance=instance,
        seed=seed,
        budget=budget,
        best=best,
        trials=len(last),
        full_trials=sum(e >= lcb.MAX_EPOCH for e in last.values()),
        rung=grace if isinstance(grace, int) else None,
        rung_decided=decision is not None,
        rung_spearman=rho,
        wall_s=wall,
    )


# --- summary --------------------------------------------------------------------------------------------


def regrets(runs: list[Run], ranges: dict[str, lcb.TargetRange], fraction: float) -> list[float]:
    return [ranges[r.instance].regret(r.best_at(fraction)) for r in runs]


def median_curve(runs: list[Run]) -> list[float]:
    n = min(len(r.best) for r in runs)
    return [statistics.median(r.best[i] for r in runs) for i in range(n)]


def fraction_to_reach(curve: list[float], target: float, budget: int) -> float | None:
    """The fraction of the budget at which ``curve`` first reaches ``target`` (None: never)."""
    return next(((i + 1) / budget for i, v in enumerate(curve) if v >= target - 1e-9), None)


def summarise(runs: list[Run], ranges: dict[str, lcb.TargetRange]) -> dict[str, Any]:
    """Per arm and instance: mean ± sd regret at 25/50/100 %, ratio to random, budget fraction to reach
    random's final median; then the goals over all instances."""
    arms = [a for a in ARMS if any(r.arm == a for r in runs)]
    instances = sorted({r.instance for r in runs}, key=int)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for inst in instances:
        base = [r for r in runs if r.instance == inst and r.arm == RANDOM]
        target = statistics.median(r.best[-1] for r in base) if base else None
        for arm in arms:
            group = [r for r in runs if r.instance == inst and r.arm == arm]
            if not group:
                continue
            cell: dict[str, Any] = {"seeds": len(group)}
            for p in POINTS:
                values = regrets(group, ranges, p)
                cell[p] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
            if base:
                cell["ratio"] = _ratio(statistics.mean(regrets(base, ranges, 1.0)), cell[1.0][0])
                cell["reach"] = fraction_to_reach(median_curve(group), target, group[0].budget)
            rungs = [r.rung for r in group]
            cell["rungs"] = rungs
            cell["rung_text"] = [_rung_text(r) for r in group]
            cell["undecided"] = sum(not r.rung_decided for r in group)
            cell["trials"] = statistics.mean(r.trials for r in group)
            cell["wall_s"] = statistics.mean(r.wall_s for r in group)
            cells[(arm, inst)] = cell
    overall: dict[str, Any] = {}
    for arm in arms:  # YAHPO's mean over problems: each instance weighs the same, whatever its seeds
        mine = [cells[(arm, i)] for i in instances if (arm, i) in cells]
        overall[arm] = {p: statistics.mean(c[p][0] for c in mine) for p in POINTS}
    random_mean = overall.get(RANDOM, {}).get(1.0)
    for arm in arms:
        overall[arm]["ratio"] = _ratio(random_mean, overall[arm][1.0]) if random_mean is not None else None
    return {"arms": arms, "instances": instances, "cells": cells, "overall": overall}


def _ratio(num: float | None, den: float) -> float | None:
    if num is None:
        return None
    return math.inf if den <= 0 else num / den


def goals(summary: dict[str, Any], arm: str = DEFAULT) -> dict[str, Any]:
    cells, overall = summary["cells"], summary["overall"]
    if arm not in overall or RANDOM not in overall:
        return {}
    reach = [cells[(arm, i)].get("reach") for i in summary["instances"] if (arm, i) in cells]
    worst_reach = None if any(r is None for r in reach) else max(reach)
    vs_fifo = {
        i: (cells[(arm, i)][1.0][0], cells[(TPE_FIFO, i)][1.0][0])
        for i in summary["instances"]
        if (arm, i) in cells and (TPE_FIFO, i) in cells
    }
    return {
        "ratio": overall[arm]["ratio"],
        "ratio_met": overall[arm]["ratio"] is not None and overall[arm]["ratio"] >= GOAL_RATIO,
        "reach": reach,
        "worst_reach": worst_reach,
        "reach_met": worst_reach is not None and worst_reach <= GOAL_FRACTION,
        "vs_fifo": vs_fifo,
        "fifo_met": bool(vs_fifo) and all(d <= f + 1e-12 for d, f in vs_fifo.values()),
    }


def _rung_text(run: Run) -> str:
    """Where the measured first rung landed: ``9 (ρ 0.81)``; ``none`` (no epoch agreed); ``not placed``."""
    if not run.rung_decided:
        return "not placed"
    if run.rung is None:
        return "none"
    return f"{run.rung} (ρ {run.rung_spearman:.2f})" if run.rung_spearman is not None else str(run.rung)


def _fmt_reach(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.2f}"


def _fmt_ratio(value: float | None) -> str:
    return "–" if value is None else ("∞" if math.isinf(value) else f"{value:.2f}×")


def render(summary: dict[str, Any], runs: list[Run], conditions: str) -> list[str]:
    from common import md_table

    rows = []
    for (arm, inst), c in summary["cells"].items():
        rungs = (
            ", ".join(c["rung_text"])
            if ARMS[arm].scheduler == "asha" and ARMS[arm].grace == "auto"
            else ("1, 3, 9, 27" if ARMS[arm].scheduler == "asha" else "–")
        )
        rows.append(
            [
                inst,
                arm,
                c["seeds"],
                *(f"{c[p][0]:.4f} ± {c[p][1]:.4f}" for p in POINTS),
                _fmt_ratio(c.get("ratio")),
                _fmt_reach(c.get("reach")),
                f"{c['trials']:.0f}",
                rungs,
                f"{c['wall_s']:.0f} s",
            ]
        )
    table = md_table(
        [
            "instance",
            "arm",
            "seeds",
            "regret 25 %",
            "regret 50 %",
            "regret 100 %",
            "random / arm at 100 %",
            "budget to reach random's final median",
            "trials (mean)",
            "first rung (per seed)",
            "wall per run",
        ],
        rows,
    )
    overall = summary["overall"]
    table += [""] + md_table(
        [
            "arm (mean over instances)",
            *(f"mean regret {int(p * 100)} %" for p in POINTS),
            "random / arm at 100 %",
        ],
        [
            [a, *(f"{overall[a][p]:.4f}" for p in POINTS), _fmt_ratio(overall[a]["ratio"])]
            for a in summary["arms"]
        ],
    )
    return [f"Conditions: {conditions}", "", *table]


def plot(summary: dict[str, Any], runs: list[Run], ranges: dict[str, lcb.TargetRange], path: Path) -> None:
    """Mean normalised regret against the budget, one line per arm, one panel per instance, with the
    regrets random / 2.4 and random / 3.9 marked (YAHPO's published ratios)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    instances = summary["instances"]
    fig, axes = plt.subplots(1, len(instances), figsize=(5 * len(instances), 4), squeeze=False)
    for ax, inst in zip(axes[0], instances, strict=True):
        random_final = None
        for arm in summary["arms"]:
            group = [r for r in runs if r.arm == arm and r.instance == inst]
            if not group:
                continue
            n = min(len(r.best) for r in group)
            mean = [statistics.mean(ranges[inst].regret(r.best[i]) for r in group) for i in range(n)]
            x = [(i + 1) / group[0].budget for i in range(n)]
            ax.plot(x, mean, label=arm, lw=1.5)
            if arm == RANDOM:
                random_final = mean[-1]
        if random_final:
            for name, ratio in PUBLISHED.items():
                ax.axhline(random_final / ratio, ls=":", color="grey", lw=1)
                ax.text(0.02, random_final / ratio, f"random / {ratio} ({name})", fontsize=7, va="bottom")
        ax.axvline(GOAL_FRACTION, ls="--", color="lightgrey", lw=1)
        ax.set_yscale("symlog", linthresh=0.01)  # the surrogate can beat the data's max: regret < 0
        seeds = len({r.seed for r in runs if r.instance == inst})
        ax.set_title(f"LCBench {inst} ({seeds} seed{'s' * (seeds > 1)})")
        ax.set_xlabel("fraction of the budget (trial-epochs)")
        ax.set_ylabel("mean normalised regret (val_accuracy)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the command ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--instances", help=f"comma-separated LCBench task ids (default {','.join(PROTOCOL_INSTANCES)})"
    )
    parser.add_argument("--seeds", type=int, help=f"seeds 0..N-1 (default {PROTOCOL_SEEDS})")
    parser.add_argument("--budget", type=int, help=f"trial-epochs per run (default {PROTOCOL_BUDGET})")
    parser.add_argument("--arms", help=f"comma-separated arms (default all: {', '.join(ARMS)})")
    parser.add_argument("--data", type=Path, default=lcb.default_data_dir(), help="the yahpo data folder")
    parser.add_argument(
        "--smoke", action="store_true", help=f"CI size: 1 instance, 1 seed, {SMOKE_BUDGET} epochs"
    )
    parser.add_argument("--out", type=Path, help="the markdown table to write (default: in the output root)")
    parser.add_argument("--figure", type=Path, help=f"the plot (default: figures/{PNG} beside --out)")
    parser.add_argument("--json", type=Path, help="also write the summary and goals as JSON here")
    parser.add_argument(
        "--output-root", type=Path, help="sweeps and runs.jsonl go here (default: a temp dir)"
    )
    parser.add_argument("--from-runs", type=Path, help="only summarise a runs.jsonl written earlier")
    parser.add_argument("--note", help="a sentence added to the conditions (e.g. the machine's load)")
    args = parser.parse_args(argv)
    args.instances = (
        args.instances.split(",")
        if args.instances
        else [PROTOCOL_INSTANCES[0]]
        if args.smoke
        else list(PROTOCOL_INSTANCES)
    )
    args.seeds = args.seeds or (1 if args.smoke else PROTOCOL_SEEDS)
    args.budget = args.budget or (SMOKE_BUDGET if args.smoke else PROTOCOL_BUDGET)
    args.arms = args.arms.split(",") if args.arms else list(ARMS)
    unknown = [a for a in args.arms if a not in ARMS]
    if unknown:
        parser.error(f"--arms: unknown {', '.join(unknown)}; valid: {', '.join(ARMS)}")
    return args


@contextlib.contextmanager
def offline() -> Iterator[None]:
    from common import apply_offline_env, private_ray_tmpdir, shutdown_ray

    apply_offline_env()
    if not os.environ.get("RAY_TMPDIR"):
        private_ray_tmpdir()
    try:
        yield
    finally:
        shutdown_ray()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.data / "lcbench" / "model.onnx").is_file():
        sys.exit(
            f"P9: no LCBench surrogate at {args.data}/lcbench/model.onnx; pass --data (the yahpo data folder)"
        )
    if not args.from_runs and not lcb.onnxruntime_available():
        sys.exit("P9: onnxruntime is not installed; pip install -e '.[bench]'")
    ranges = {i: lcb.target_range(args.data, i) for i in args.instances}
    root = (args.output_root or Path(tempfile.mkdtemp(prefix="rudratune-p9-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    log = args.from_runs or root / "runs.jsonl"
    start = time.perf_counter()
    load_start = _load()
    if not args.from_runs:
        print(f"P9: sweeps and {log.name} in {root}", file=sys.stderr)
        done = {(r.arm, r.instance, r.seed) for r in _read_runs(log)} if log.exists() else set()
        with offline():
            for seed in range(args.seeds):
                for inst in args.instances:
                    for name in args.arms:
                        if (name, inst, seed) in done:
                            continue
                        run = run_one(ARMS[name], inst, seed, args.budget, args.data, root / "sweeps")
                        with log.open("a") as f:
                            f.write(json.dumps(asdict(run)) + "\n")
                        print(
                            f"{name} {inst} seed {seed}: best {run.best[-1]:.2f}, regret "
                            f"{ranges[inst].regret(run.best[-1]):.4f}, {run.trials} trials, rung {run.rung}, "
                            f"{run.wall_s:.0f} s",
                            file=sys.stderr,
                            flush=True,
                        )
    runs = complete_seeds(
        [
            r
            for r in _read_runs(log)
            if r.instance in ranges and r.arm in args.arms and r.budget == args.budget
        ],
        args.arms,
    )
    if not runs:
        sys.exit(f"P9: no seed in {log} ran every arm of {', '.join(args.arms)} on an instance")
    summary = summarise(runs, ranges)
    conditions = (
        f"LCBench (YAHPO Gym surrogate, onnxruntime) instances {', '.join(summary['instances'])}; "
        f"{args.budget} trial-epochs a run; η = {ETA}; seeds {_seeds(runs)}; 2 trials at a time, "
        f"actors reused; regret normalised by each instance's val_accuracy min and max in "
        "instance_target_statistics.csv; best so far over every reported epoch. "
        + (
            f"Summarised from {log}."
            if args.from_runs
            else f"Load average {load_start} at the start, {_load()} at the end; "
            f"{(time.perf_counter() - start) / 60:.1f} min."
        )
        + (f" {args.note}" if args.note else "")
    )
    lines = render(summary, runs, conditions)
    g = goals(summary)
    if g:
        lines += ["", *goal_lines(g)]
    out = args.out or root / "p9_lcbench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    figure = args.figure or out.parent / "figures" / PNG
    plot(summary, runs, ranges, figure)
    lines += ["", f"![P9 regret against budget]({os.path.relpath(figure, out.parent)})"]
    out.write_text("\n".join(lines) + "\n")
    if args.json:
        args.json.write_text(
            json.dumps({"goals": g, "overall": summary["overall"], "figure": str(figure)}, default=str)
        )
    print("\n".join(lines))
    print(f"wrote {out} and {figure}", file=sys.stderr)
    return 0


def goal_lines(g: dict[str, Any]) -> list[str]:
    vs = "; ".join(f"{i}: {d:.4f} vs {f:.4f}" for i, (d, f) in g["vs_fifo"].items())
    return [
        f"- Goal random / default ≥ {GOAL_RATIO} at 100 %: {_fmt_ratio(g['ratio'])}: "
        f"{'met' if g['ratio_met'] else 'not met'}.",
        f"- Goal ≤ {GOAL_FRACTION} of the budget to reach random's final median (worst instance): "
        f"{', '.join(_fmt_reach(r) for r in g['reach'])}: {'met' if g['reach_met'] else 'not met'}.",
        f"- Goal default never worse than TPE+FIFO at 100 % (mean regret, default vs TPE+FIFO): {vs}: "
        f"{'met' if g['fifo_met'] else 'not met'}.",
    ]


def complete_seeds(runs: list[Run], arms: list[str]) -> list[Run]:
    """Only the (instance, seed) pairs that every arm ran: a cut-short run compares like with like."""
    have: dict[tuple[str, int], set[str]] = {}
    for r in runs:
        have.setdefault((r.instance, r.seed), set()).add(r.arm)
    return [r for r in runs if have[(r.instance, r.seed)] >= set(arms)]


def _read_runs(path: Path) -> list[Run]:
    return [Run(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _seeds(runs: list[Run]) -> str:
    seeds = sorted({r.seed for r in runs})
    return (
        f"{seeds[0]}..{seeds[-1]}"
        if seeds == list(range(seeds[0], seeds[-1] + 1))
        else ", ".join(map(str, seeds))
    )


def _load() -> str:
    from common import load_average

    return load_average()


# --- for run.py -----------------------------------------------------------------------------------------


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    """P9 through run.py: this script in a subprocess (the trial function then pickles by value)."""
    from common import figure, run_command, verdict

    data = lcb.default_data_dir()
    missing = (
        "onnxruntime is not installed (`pip install -e '.[bench]'`)"
        if not lcb.onnxruntime_available()
        else f"no yahpo data at {data} (set ${lcb.DATA_ENV})"
        if not (data / "lcbench" / "model.onnx").is_file()
        else None
    )
    if missing:
        return {"title": "P9 LCBench", "skipped": f"P9 LCBench skipped: {missing}."}
    out = output_root / "p9"
    argv = [sys.executable, __file__, "--output-root", str(out), "--out", str(out / "p9_lcbench.md")]
    argv += ["--json", str(out / "p9.json"), "--figure", str(out / PNG), *(["--smoke"] if smoke else [])]
    cmd = run_command(argv, output_root / "logs" / "p9_driver.log", timeout=6 * 3600)
    if cmd.returncode != 0:
        raise RuntimeError(f"P9 exited {cmd.returncode}:\n{cmd.tail()}")
    result = json.loads((out / "p9.json").read_text())
    g = result["goals"]
    text = (out / "p9_lcbench.md").read_text().splitlines()
    table = [line for line in text if not line.startswith(("Conditions:", "![", "- Goal"))]
    table.append(f"![P9 regret against budget]({PNG})")
    conditions = next(line for line in text if line.startswith("Conditions:")).removeprefix("Conditions: ")
    ratio = g["ratio"] if isinstance(g["ratio"], int | float) else float(g["ratio"])
    return {
        "title": "P9 LCBench (YAHPO Gym)",
        "conditions": conditions,
        "table": table,
        "artifacts": [str(out / PNG)],
        "figures": [
            figure(
                "P9 random / default mean regret at 100 %",
                ratio,
                f"{ratio:.2f}",
                goal=f"≥ {GOAL_RATIO}",
                met=g["ratio_met"],
                meaning=f"rudratune's default ended with 1/{ratio:.2f} of random search's mean normalised regret: "
                f"{verdict(g['ratio_met'])} (YAHPO's TPE with pruning: {GOAL_RATIO}×; SMAC-HB 3.9×).",
            ),
            figure(
                "P9 fraction of the budget the default needs",
                g["worst_reach"],
                _fmt_reach(g["worst_reach"]),
                goal=f"≤ {GOAL_FRACTION}",
                met=g["reach_met"],
                meaning=f"the default's median curve reached random search's final median best after "
                f"{', '.join(_fmt_reach(r) for r in g['reach'])} of the budget (per instance): {verdict(g['reach_met'])}.",
            ),
            figure(
                "P9 instances where the default is no worse than TPE+FIFO at 100 %",
                len(g["vs_fifo"]),
                f"{sum(d <= f + 1e-12 for d, f in g['vs_fifo'].values())} of {len(g['vs_fifo'])}",
                goal="all",
                met=g["fifo_met"],
                meaning="mean normalised regret at the full budget, default vs TPE+FIFO: "
                + "; ".join(f"{i}: {d:.4f} vs {f:.4f}" for i, (d, f) in g["vs_fifo"].items())
                + f": {verdict(g['fifo_met'])}.",
            ),
        ],
        "raw": result,
    }


if __name__ == "__main__":
    sys.exit(main())
