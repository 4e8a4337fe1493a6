"""P4 start-up: time from a trial being started by Tune to its first training step, with and without actor reuse.

rudratune's ``execute`` always passes ``reuse_actors=True`` and exposes no key for it, so this drives the
``ray.tune.Tuner`` that ``execute`` uses (``build_tuner``) itself: ``run_trial`` wrapped in ``with_parameters`` /
``with_resources``, rudratune's searcher, scheduler and driver-side tracker; only ``reuse_actors`` differs.
Trials run one at a time with every core, 1 epoch each, so nothing else competes with a start-up.

Three driver timestamps per trial (``time.time()``), against the trial's reported ``first_step_at``:
*seen*, the first driver loop step that lists the trial (or its start, if earlier); *started*, ``Callback.on_trial_start`` (which Tune
calls only once the trial's actor is up: for a fresh actor that is after its process started and imported
the trainable); *tracked*, after rudratune's tracker opened the trial's MLflow and W&B runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import QUICKSTART, dataset_root, drop_checkpoints, figure, md_table, verdict
from ray.tune import Callback

GOAL_S = 2.0


class OnStart(Callback):
    """``on_trial_start`` times; one before and one after the tracker in the callback list time the tracker too."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.times.setdefault(trial.trial_id, time.time())


class FirstSeen(OnStart):
    """When a driver step first lists a trial (or it starts, if that comes first), and its reported first step."""

    def __init__(self) -> None:
        super().__init__()
        self.first_step: dict[str, float] = {}

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.time()
        for trial in trials:
            self.times.setdefault(trial.trial_id, now)

    on_step_end = on_step_begin

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if result.get("first_step_at"):
            self.first_step.setdefault(trial.trial_id, float(result["first_step_at"]))


def settings(smoke: bool, output_root: Path) -> tuple[list[str], int]:
    from rudratune.runtime import usable_cpus

    common = ["search.max_concurrent=1", f"resources.cpu={usable_cpus()}", "trainer.max_epochs=1"]
    if smoke:
        root = dataset_root(True, output_root)
        return [
            *common,
            f"data.root={root}",
            "data.image_size=32",
            "data.batch_size=4",
            "search.num_samples=2",
        ], 2
    dataset_root(False, output_root)
    return [*common, "search.num_samples=6"], 6


def sweep(name: str, overrides: list[str], output_root: Path, *, reuse: bool) -> list[dict[str, float]]:
    """Run the trials; return one row of start-up times per trial, in the order they started."""
    from ray import tune

    from rudratune.search.driver import SweepTracker, build_tuner, load_sweep_data
    from rudratune.search.driver.trial import run_trial
    from rudratune.search.placement import init_ray, resources_for
    from rudratune.search.record import record_for
    from rudratune.search.space import load_sweep

    swp = load_sweep(QUICKSTART, overrides)
    run_dir = output_root / name
    run_dir.mkdir(parents=True)
    record = record_for(run_dir, swp, storage=None, output_root=output_root)
    record.save()
    data = load_sweep_data(swp, output_root)
    init_ray(None)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, base=swp.base, data=data), resources_for(swp)
    )
    tracker = SweepTracker.for_record(record)
    seen, started, tracked = FirstSeen(), OnStart(), OnStart()
    tuner = build_tuner(record, trainable, [seen, started, tracker, tracked], reuse_actors=reuse)
    try:
        tracker.start(record, data, resume=False)
        tuner.fit()
    finally:
        tracker.close_open_runs("KILLED")
    drop_checkpoints(run_dir)
    rows = []
    for trial_id in sorted(started.times, key=started.times.get):
        step = seen.first_step.get(trial_id)
        if step is None:
            continue
        rows.append(
            {
                "from_started": step - started.times[trial_id],
                "from_seen": step - seen.times[trial_id],
                "tracker": tracked.times[trial_id] - started.times[trial_id],
            }
        )
    if len(rows) < 2:
        raise RuntimeError(f"{name}: fewer than 2 trials reached a first step; see {run_dir}")
    return rows


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    overrides, n = settings(smoke, output_root)
    modes = {}
    for reuse in (False, True):
        print(f"  P4 reuse_actors={reuse}", file=sys.stderr, flush=True)
        modes[reuse] = sweep(f"p4-reuse-{str(reuse).lower()}", overrides, output_root, reuse=reuse)

    def med(reuse: bool, key: str) -> float:
        """Median over every trial but the first, which has no actor to reuse in either mode."""
        return statistics.median(r[key] for r in modes[reuse][1:])

    table = md_table(
        [
            "reuse_actors",
            "first trial: started → step",
            "later trials: started → step",
            "later: seen → step",
            "later: tracker's share",
            "every trial, started → step (s)",
        ],
        [
            [
                str(reuse),
                f"{rows[0]['from_started']:.2f} s",
                f"{med(reuse, 'from_started'):.2f} s",
                f"{med(reuse, 'from_seen'):.2f} s",
                f"{med(reuse, 'tracker'):.2f} s",
                ", ".join(f"{r['from_started']:.2f}" for r in rows),
            ]
            for reuse, rows in modes.items()
        ],
    )
    reused, fresh = med(True, "from_started"), med(False, "from_started")
    reused_seen, fresh_seen = med(True, "from_seen"), med(False, "from_seen")
    met = reused <= GOAL_S
    ratio = reused_seen / fresh_seen
    return {
        "title": "P4 start-up",
        "conditions": (
            f"quickstart space with `{' '.join(overrides)}`: {n} trials per mode, one at a time; medians over trials 2..{n} "
            f"(the first trial of either mode starts a fresh actor). MLflow and W&B (offline) on, as in `rudratune run`."
        ),
        "table": table,
        "figures": [
            figure(
                "P4 start-up with reused actors (on_trial_start → first step)",
                reused,
                f"{reused:.2f} s",
                goal=f"≤ {GOAL_S:g} s",
                met=met,
                meaning=f"With reused actors a trial's first training step comes {reused:.2f} s after Tune's on_trial_start "
                f"(fresh actors: {fresh:.2f} s, but there on_trial_start already comes after the actor's start and "
                f"imports): {verdict(met)} (≤ {GOAL_S:g} s).",
            ),
            figure(
                "P4 reused / fresh actors, start-up from the trial's first appearance",
                ratio,
                f"{ratio:.2f}×",
                meaning=f"Counted from the first driver step that lists the trial, so that a fresh actor's process start and "
                f"imports count too, reuse takes start-up from {fresh_seen:.2f} s to {reused_seen:.2f} s ({ratio:.2f}×).",
            ),
        ],
        "raw": {str(k): v for k, v in modes.items()},
    }
