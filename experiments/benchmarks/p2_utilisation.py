"""P2 utilisation: how busy the quickstart sweep keeps the machine's cores.

``rudratune run search_spaces/quickstart.yaml`` runs as a command while a thread samples /proc/stat every
0.5 s. The window runs from the first trial's first training step (its reported ``first_step_at``) to the
last trial's last report (Tune's ``timestamp``, whole seconds, + 0.5 s). The figure is the busy share of all cores'
time in that window, whatever process used it; beside it, the share the sweep's own process tree used
(driver, Ray and trial workers, from /proc/<pid>/stat), which other work on the machine cannot inflate.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from common import (
    QUICKSTART,
    REPO,
    CpuSampler,
    dataset_root,
    figure,
    md_table,
    read_trials,
    rudratune_argv,
    subprocess_env,
    verdict,
)

GOAL = 0.90


def overrides(smoke: bool, output_root: Path) -> list[str]:
    if smoke:
        root = dataset_root(True, output_root)
        return [
            f"data.root={root}",
            "data.image_size=32",
            "data.batch_size=4",
            "search.num_samples=2",
            "trainer.max_epochs=3",
        ]
    dataset_root(False, output_root)  # generated before the sweep, so it is not part of it
    return []


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    args = ["run", str(QUICKSTART), *overrides(smoke, output_root), "--name", "p2-quickstart", "--no-report"]
    with CpuSampler() as idle:  # what the machine does without the sweep
        time.sleep(2 if smoke else 5)
    baseline = idle.busy_fraction(idle.samples[0].at, idle.samples[-1].at)

    log = output_root / "logs" / "p2_sweep.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        started = time.time()
        proc = subprocess.Popen(
            rudratune_argv(args, output_root),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=subprocess_env(),
        )
        with CpuSampler(root_pid=proc.pid) as sampler:
            code = proc.wait()
        ended = time.time()
    if code != 0:
        raise RuntimeError(f"rudratune run exited {code}; see {log}")

    trials = read_trials(output_root / "p2-quickstart")
    start = min(t.first_step_at for t in trials if t.first_step_at)
    end = max(t.ended_at for t in trials) + 0.5  # Tune's timestamp is whole seconds: the middle of the second
    cores = os.cpu_count() or 1
    busy = sampler.busy_fraction(start, end)
    tree = sampler.tree_fraction(start, end, cores)
    whole = sampler.busy_fraction(started, ended)
    met = busy >= GOAL
    epochs = sum(t.epochs for t in trials)
    return {
        "title": "P2 utilisation",
        "conditions": (
            f"`rudratune run search_spaces/quickstart.yaml {' '.join(args[2:-3])}` (max_concurrent 2, 1 CPU per trial, "
            f"{'tiny smoke set' if smoke else 'embedded set'}), {cores} cores sampled every 0.5 s; the window's end is known to ±0.5 s."
        ),
        "table": md_table(
            ["what", "value"],
            [
                ["trials, trial-epochs", f"{len(trials)}, {epochs}"],
                ["window: first step of the first trial → last report of the last", f"{end - start:.1f} s"],
                [
                    "whole command (interpreter start to exit)",
                    f"{ended - started:.1f} s, cores {whole:.1%} busy",
                ],
                ["cores busy before the sweep started (other work)", f"{baseline:.1%}"],
                ["cores busy in the window (any process)", f"{busy:.1%}"],
                ["cores used in the window by the sweep's own processes", f"{tree:.1%}"],
            ],
        ),
        "figures": [
            figure(
                "P2 cores busy while trials run",
                busy,
                f"{busy:.1%}",
                goal=f"≥ {GOAL:.0%}",
                met=met,
                meaning=f"From the first trial's first step to the last trial's end, {busy:.1%} of the {cores} cores' time was "
                f"busy ({tree:.1%} used by the sweep's own processes; {baseline:.1%} busy before it started): {verdict(met)} (≥ {GOAL:.0%}).",
            ),
        ],
        "raw": {"busy": busy, "tree": tree, "baseline": baseline, "window_s": end - start, "whole": whole},
    }
