"""P1 for 10 trials (issue 20 item 2; by hand, not part of ``run.py``: about 20 minutes on 2 cores).

The 1-trial ratio of ``p1_overhead`` (a 1-trial ``rudratune run`` against ``rudratune train`` of the same
config), then the same for 10: a 10-trial sweep, one trial at a time with every core (as ``train`` has), of
the same config, against 10 ``rudratune train`` runs one after another. Prints both ratios.

    python experiments/benchmarks/p1_ten.py [--output-root DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import EXPERIMENT, apply_offline_env, private_ray_tmpdir
from p1_overhead import setup, sweep_cli, train_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-root", type=Path, default=None)
    args = parser.parse_args()
    apply_offline_env()
    private_ray_tmpdir()
    output_root = args.output_root or Path(tempfile.mkdtemp(prefix="p1-ten-"))
    from rudratune.config.experiment import load_experiment

    s = setup(False, output_root)
    loss = load_experiment(EXPERIMENT, s.overrides).loss.name
    start = time.monotonic()
    one_train = train_cli(False, output_root, s)["wall_s"]
    one_sweep = sweep_cli(output_root, s, loss)
    print(
        f"1 trial: sweep {one_sweep:.1f} s, train {one_train:.1f} s: {one_sweep / one_train:.3f}×", flush=True
    )
    trains = [train_cli(False, output_root, s)["wall_s"] for _ in range(10)]
    ten_sweep = sweep_cli(output_root, s, loss, trials=10)
    print(
        f"10 trials: sweep {ten_sweep:.1f} s, 10 trains {sum(trains):.1f} s "
        f"(each {', '.join(f'{t:.1f}' for t in trains)}): {ten_sweep / sum(trains):.3f}×",
        flush=True,
    )
    print(f"in {time.monotonic() - start:.0f} s; outputs in {output_root}", file=sys.stderr)


if __name__ == "__main__":
    main()
