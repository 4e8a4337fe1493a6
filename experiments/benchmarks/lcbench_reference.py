"""Write ``lcbench_reference.json``: yahpo-gym's own LCBench outputs on a few configs x instances x epochs.

Run once, in yahpo-gym's environment (it pins numpy < 2 and ConfigSpace <= 0.6.1, so never in the project's):

    python3 -m venv /work/yahpo-venv && /work/yahpo-venv/bin/pip install yahpo-gym==1.0.2 onnxruntime
    /work/yahpo-venv/bin/python experiments/benchmarks/lcbench_reference.py --data ../shared/benchmarks/yahpo

``tests/test_lcbench.py`` compares ``lcbench_surrogate.LCBench`` (onnxruntime, no yahpo-gym) with these values.
The configurations are yahpo's default plus draws of its own ConfigSpace (seeded), with the
boundaries of every range in one more.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

INSTANCES = ("167168", "189873", "189906", "3945")
EPOCHS = (1, 3, 13, 52)
SEED = 2026
DRAWS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the yahpo data folder (holds lcbench/)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("lcbench_reference.json"))
    args = parser.parse_args()
    os.environ.setdefault("HOME", tempfile.mkdtemp())  # yahpo-gym writes its settings file under ~
    from yahpo_gym import BenchmarkSet, local_config

    local_config.init_config()
    local_config.set_data_path(str(args.data.resolve()))
    bench = BenchmarkSet("lcbench", check=True)
    space = bench.get_opt_space(drop_fidelity_params=True, seed=SEED)
    hps = [h for h in space.get_hyperparameter_names() if h != "OpenML_task_id"]
    configs = [{h: space.get_hyperparameter(h).default_value for h in hps}]
    configs += [{h: c.get_dictionary()[h] for h in hps} for c in space.sample_configuration(DRAWS)]
    edge = {h: space.get_hyperparameter(h).lower for h in hps}
    edge.update(learning_rate=space.get_hyperparameter("learning_rate").upper, num_layers=5)
    configs.append(edge)
    cases = []
    for config in configs:
        for instance in INSTANCES:
            rows = [{**config, "OpenML_task_id": instance, "epoch": e} for e in EPOCHS]
            for row, y in zip(rows, bench.objective_function(rows), strict=True):
                cases.append({"x": row, "y": {k: float(v) for k, v in y.items()}})
    lines = ",\n".join(json.dumps(case) for case in cases)
    made_by = "yahpo-gym 1.0.2 BenchmarkSet('lcbench').objective_function via experiments/benchmarks/lcbench_reference.py"
    args.out.write_text(f'{{"made_by": {json.dumps(made_by)},\n "cases": [\n{lines}\n]}}\n')
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
