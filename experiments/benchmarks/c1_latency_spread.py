"""C1: the latency of one architecture across its builds, with the old and the new timing (issue 19).

Builds Unet-mobilenet_v2 (64 px, batch 1, 3 channels) ``--builds`` times and times each build twice: the
timing before issue 19 (the run's torch threads, 3 warm-ups, median of 10) and ``rudratune.train.cost``'s
(one thread, 3 warm-ups, median of 15 with its interquartile range), called directly so that no build reuses
another's figure. Run it while the machine is busy: that is the case it is for.

    python experiments/benchmarks/c1_latency_spread.py --builds 6
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import segmentation_models_pytorch as smp
import torch

from rudratune.train.cost import _gflops, _latency_ms

SIZE = 64


def old_latency_ms(net: torch.nn.Module) -> float:
    """The timing before issue 19, as it was: threads as set, 3 warm-ups, median of 10."""
    x = torch.rand(1, 3, SIZE, SIZE)
    times = []
    with torch.inference_mode():
        for i in range(13):
            start = time.perf_counter()
            net(x)
            if i >= 3:
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2, help="the trial's torch threads (old timing)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    rows = []
    for _ in range(args.builds):
        net = smp.Unet("mobilenet_v2", encoder_weights=None, in_channels=3, classes=1).eval()
        load = os.getloadavg()[0]
        old = old_latency_ms(net)
        median, spread = _latency_ms(net, cpu, SIZE, 3, 3, 15)
        row = {"load1": load, "old_ms": old, "new_ms": median, "new_spread_ms": spread}
        rows.append({**row, "flops_g": _gflops(net, cpu, SIZE, 3)})
        print(json.dumps(rows[-1]), flush=True)
    for key in ("old_ms", "new_ms", "new_spread_ms", "flops_g"):
        values = [r[key] for r in rows]
        print(f"{key}: {min(values):.4g} to {max(values):.4g} (max/min {max(values) / min(values):.2f})")


if __name__ == "__main__":
    main()
