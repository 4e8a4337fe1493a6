"""P6 GPU packing: trial throughput with 1, 2 or 4 trials sharing one GPU, in fp32 and 16-mixed.

Needs a GPU: skipped (with a sentence in BENCHMARKS.md) when ``torch.cuda.is_available()`` is False.
For each ``resources.gpu`` share (1, 0.5, 0.25) and ``trainer.precision`` (32-true, 16-mixed), the
quickstart sweep runs as a command with ``search.max_concurrent = 1 / share`` (smoke: only 1 × 32-true and
0.25 × 16-mixed); throughput is trial-epochs
per second from the first trial's first step to the last trial's last report. Figures are throughputs
relative to one trial per GPU in fp32, measured in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from common import QUICKSTART, dataset_root, drop_checkpoints, figure, md_table, read_trials, rudratune

SHARES = (1.0, 0.5, 0.25)
PRECISIONS = ("32-true", "16-mixed")


def throughput(name: str, overrides: list[str], output_root: Path) -> tuple[float, int]:
    """Trial-epochs per second of one quickstart sweep, and its trial-epochs."""
    args = ["run", str(QUICKSTART), *overrides, "--name", name, "--no-report"]
    rudratune(args, output_root, output_root / "logs" / f"{name}.log")
    trials = read_trials(output_root / name)
    drop_checkpoints(output_root / name)
    epochs = sum(t.epochs for t in trials)
    start = min(t.first_step_at for t in trials if t.first_step_at)
    end = max(t.ended_at for t in trials)
    return epochs / max(end - start, 1e-9), epochs


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {
            "title": "P6 GPU packing",
            "skipped": "P6 GPU packing skipped: `torch.cuda.is_available()` is False on this machine (no GPU), so there is "
                       "nothing to pack; run it on a machine with a GPU to compare 1, 2 and 4 trials per GPU in fp32 and 16-mixed.",
        }  # fmt: skip
    from rudratune.runtime import usable_cpus

    tracking = ["tracking.mlflow=false", "tracking.wandb=false"]
    if smoke:
        root = dataset_root(True, output_root)
        size = [
            f"data.root={root}",
            "data.image_size=32",
            "data.batch_size=4",
            "search.num_samples=4",
            "trainer.max_epochs=2",
        ]
    else:
        dataset_root(False, output_root)
        size = []
    configs = [(s, p) for p in PRECISIONS for s in SHARES]
    if smoke:  # the baseline and the most packed, mixed-precision setting: both knobs, two sweeps
        configs = [(1.0, "32-true"), (SHARES[-1], "16-mixed")]
    results: dict[tuple[float, str], tuple[float, int]] = {}
    for share, precision in configs:
        concurrent = round(1 / share)
        cpu = max(1, usable_cpus() // concurrent)
        print(f"  P6 gpu {share} x {concurrent}, {precision}", file=sys.stderr, flush=True)
        overrides = [*tracking, *size, f"resources.gpu={share}", f"resources.cpu={cpu}", f"search.max_concurrent={concurrent}",
                     f"trainer.precision={precision}"]  # fmt: skip
        results[share, precision] = throughput(f"p6-gpu{share:g}-{precision}", overrides, output_root)

    base = results[1.0, "32-true"][0]
    rows = [[f"{share:g} ({round(1 / share)} per GPU)", precision, epochs, f"{tp:.3f}", f"{tp / base:.2f}×"]
            for (share, precision), (tp, epochs) in results.items()]  # fmt: skip
    best_key = max(results, key=lambda k: results[k][0])
    best = results[best_key][0] / base
    return {
        "title": "P6 GPU packing",
        "conditions": f"quickstart space, {torch.cuda.get_device_name(0)}, `{' '.join([*tracking, *size])}`, 1 / share trials at once.",
        "table": md_table(
            ["resources.gpu", "precision", "trial-epochs", "trial-epochs / s", "vs 1 per GPU, fp32"], rows
        ),
        "figures": [
            figure(
                "P6 best packing / 1 trial per GPU in fp32, throughput",
                best,
                f"{best:.2f}×",
                meaning=f"Packing {round(1 / best_key[0])} trial(s) per GPU in {best_key[1]} gives {best:.2f}× the trial-epochs per "
                f"second of one fp32 trial per GPU.",
            )
        ],  # fmt: skip
        "raw": {f"{s:g}/{p}": v for (s, p), v in results.items()},
    }
