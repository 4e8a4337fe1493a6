"""``rudratune resume RUN_DIR``: continue an interrupted sweep up to num_samples."""

from __future__ import annotations

import argparse

from rudratune.commands.common import resumable
from rudratune.errors import UserError
from rudratune.signals import terminate_as_interrupt


def run(args: argparse.Namespace) -> int:
    # local: these import ray and mlflow; a wrong RUN_DIR is reported before any of them
    from rudratune.commands.summary import conclude
    from rudratune.search import (
        check_address,
        check_cluster,
        check_data,
        check_local,
        driver_lock,
        execute,
        finish,
        init_ray,
        load_record,
        load_sweep_data,
        ray_temp_dir,
        resolve_address,
        save_decodings,
    )

    terminate_as_interrupt()  # Kubernetes, Slurm, docker stop: handled as Ctrl-C from here on
    if not args.address:  # a local Ray: the driver's temp files in its private folder (removed at exit)
        ray_temp_dir()
    record = load_record(args.run_dir)
    if record.finished:
        raise UserError(
            f"{args.run_dir}: sweep {record.name} finished at {record.finished}; nothing to resume "
            f"(see its results.csv, or `rudratune export {args.run_dir}`)"
        )
    if "***@" in record.experiment_path:
        raise UserError(
            f"{args.run_dir}: the sweep's storage URI held credentials, which sweep.json does not keep "
            f"({record.experiment_path}); give them in the environment (e.g. AWS_ACCESS_KEY_ID) instead"
        )
    # refused while another process drives this sweep
    with driver_lock(record.run_dir), resumable(record.run_dir):
        address = resolve_address(args.address)
        check_address(address)
        accelerator = record.sweep.base.trainer.accelerator
        if not address:
            check_local(record.sweep.settings, accelerator, source=str(record.run_dir / "sweep.json"))
        data = load_sweep_data(record.sweep, record.output_root)
        check_data(record.run_dir, data)  # refused when it changed since the sweep started
        save_decodings(record.run_dir, data)
        init_ray(address)
        if address:
            check_cluster(record.sweep.settings, accelerator, source=str(record.run_dir / "sweep.json"))
        print(f"resuming sweep {record.name} from {record.experiment_path}", flush=True)
        outcome = execute(
            record, data, address=address, resume=True, announce=lambda line: print(line, flush=True)
        )
        return conclude(record, finish(record, outcome), report=not args.no_report)
