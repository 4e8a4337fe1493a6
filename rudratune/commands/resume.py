"""``rudratune resume RUN_DIR``: continue an interrupted sweep up to num_samples."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    # local: these import ray and mlflow; a wrong RUN_DIR is reported before any of them
    from rudratune.commands.summary import conclude
    from rudratune.search.datasets import load_sweep_data
    from rudratune.search.finish import finish
    from rudratune.search.record import load_record
    from rudratune.search.runner import execute, init_ray

    record = load_record(args.run_dir)
    data = load_sweep_data(record.sweep, record.output_root)
    init_ray(args.address)
    print(f"resuming sweep {record.name} from {record.experiment_path}", flush=True)
    outcome = execute(record, data, address=args.address, resume=True)
    return conclude(record, finish(record, outcome), report=not args.no_report)
