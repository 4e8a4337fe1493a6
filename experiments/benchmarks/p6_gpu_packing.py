"""P6 GPU packing: the unet space at 256 px, 8 trials x 10 epochs in bf16, 1 trial per GPU against
``resources: auto`` (packing by measured memory, all 8 trials allowed at once).

Needs a GPU: skipped (with a sentence in BENCHMARKS.md) when ``torch.cuda.is_available()`` is False.
Throughput is trial-epochs per second from the first trial's first step to the last trial's last report;
GPU utilisation is the mean of ``nvidia-smi`` samples every 0.5 s over the same window. Goals (issue 10, an
H100-class card): >= 10x the 0.35 trial-epochs/s the landed code did 1 per GPU, >= 60 % mean utilisation
while packed. Smoke: 4 trials x 2 epochs at 64 px.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO, dataset_root, drop_checkpoints, figure, md_table, read_trials, rudratune

UNET = REPO / "search_spaces" / "unet.yaml"
BEFORE_TE_S = 0.35
"""Trial-epochs per second of the landed code, 1 trial per H100, bf16 (issue 10)."""
TE_GOAL, UTIL_GOAL = 10 * BEFORE_TE_S, 60.0


class GpuSampler:
    """``nvidia-smi`` every 0.5 s in the background: (time, utilisation %, memory MiB) per sample."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> GpuSampler:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            "nvidia-smi",
            "--query-gpu=timestamp,utilization.gpu,memory.used",
            "--format=csv,noheader,nounits",
            "-lms",
            "500",
        ]
        self.start = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("w"), stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def samples(self) -> list[tuple[float, float, float]]:
        """(seconds since the sampler started, utilisation %, memory MiB); nvidia-smi's own clock is local."""
        rows = []
        for i, line in enumerate(self.log.read_text().splitlines()):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) >= 3 and parts[1].replace(".", "").isdigit():
                rows.append((i * 0.5, float(parts[1]), float(parts[2])))
        return rows


def sweep(name: str, overrides: list[str], output_root: Path) -> dict[str, Any]:
    log = output_root / "logs" / f"{name}.smi.csv"
    with GpuSampler(log) as sampler:
        args = ["run", str(UNET), *overrides, "--name", name, "--no-report"]
        command = rudratune(args, output_root, output_root / "logs" / f"{name}.log", timeout=400)
    trials = read_trials(output_root / name)
    drop_checkpoints(output_root / name)
    epochs = sum(t.epochs for t in trials)
    start = min(t.first_step_at for t in trials if t.first_step_at)
    end = max(t.ended_at for t in trials)
    window = [s for s in sampler.samples() if start - sampler.start <= s[0] <= end - sampler.start + 1]
    util = sum(s[1] for s in window) / len(window) if window else float("nan")
    mem = max((s[2] for s in window), default=float("nan"))
    return {
        "te_s": epochs / max(end - start, 1e-9),
        "epochs": epochs,
        "trials": len(trials),
        "util": util,
        "mem_mib": mem,
        "wall_s": command.wall_s,
        "window_s": end - start,
    }


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {
            "title": "P6 GPU packing",
            "skipped": "P6 GPU packing skipped: `torch.cuda.is_available()` is False on this machine (no GPU); "
            "P7 carries the proof of the fixed costs. Run `experiments/benchmarks/gpu_checks.sh` on a GPU machine.",
        }
    from rudratune.runtime import usable_cpus

    common = ["tracking.mlflow=false", "tracking.wandb=false", "trainer.precision=bf16-mixed"]
    if smoke:
        common += [
            f"data.root={dataset_root(True, output_root)}",
            "data.image_size=64",
            "search.num_samples=4",
            "trainer.max_epochs=2",
        ]
    else:
        dataset_root(False, output_root)
        common += ["data.image_size=256", "search.num_samples=8", "trainer.max_epochs=10"]
    n = 4 if smoke else 8
    one = sweep(
        "p6-one-per-gpu",
        [*common, f"resources={{cpu:{usable_cpus()},gpu:1}}", "search.max_concurrent=1"],
        output_root,
    )
    print(f"  P6 1 per GPU: {one}", file=sys.stderr, flush=True)
    packed = sweep("p6-auto", [*common, "resources=auto", f"search.max_concurrent={n}"], output_root)
    print(f"  P6 auto: {packed}", file=sys.stderr, flush=True)
    rows = [
        [
            label,
            r["trials"],
            r["epochs"],
            f"{r['window_s']:.1f}",
            f"{r['te_s']:.2f}",
            f"{r['util']:.1f}",
            f"{r['mem_mib']:.0f}",
        ]
        for label, r in (("1 trial per GPU", one), (f"resources: auto, {n} at once", packed))
    ]
    speedup = packed["te_s"] / BEFORE_TE_S
    return {
        "title": "P6 GPU packing",
        "conditions": f"unet space, {torch.cuda.get_device_name(0)}, `{' '.join(common)}`; nvidia-smi every 0.5 s "
        "over the window from the first step to the last report.",
        "table": md_table(
            [
                "resources",
                "trials",
                "trial-epochs",
                "window s",
                "trial-epochs / s",
                "mean GPU util %",
                "peak GPU MiB",
            ],
            rows,
        ),
        "figures": [
            figure(
                "P6 1 per GPU, trial-epochs / s",
                one["te_s"],
                f"{one['te_s']:.2f}",
                meaning=f"The landed code did {BEFORE_TE_S} on an H100 (issue 10).",
            ),
            figure(
                "P6 auto packing / landed 1 per GPU, throughput",
                speedup,
                f"{speedup:.1f}×",
                goal=">= 10×",
                met=speedup >= 10,
                meaning="Packed trial-epochs per second over 0.35.",
            ),
            figure(
                "P6 mean GPU utilisation, packed",
                packed["util"],
                f"{packed['util']:.0f} %",
                goal=f">= {UTIL_GOAL:g} %",
                met=packed["util"] >= UTIL_GOAL,
                meaning="nvidia-smi utilization.gpu while the packed sweep trained.",
            ),
        ],
        "raw": {"one": one, "auto": packed},
    }
