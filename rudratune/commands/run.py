"""``rudratune run SPACE [key=value ...]``: validate, then run the search (or ``--dry-run`` it)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from rudratune.commands.common import print_config, stamp, warn_without_cuda, writable_dir
from rudratune.errors import UserError
from rudratune.search.dry_run import describe, dry_run
from rudratune.search.settings import Resources
from rudratune.search.space import Sweep, load_sweep


def run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.space, args.overrides)
    if args.print_config:
        print_config(
            sweep.base_dict, f"{args.space} (the base experiment; each trial overlays its parameters)"
        )
        return 0
    if args.dry_run:
        return show_dry_run(sweep, args.dry_run_samples)
    if args.max_failures is not None and args.max_failures < -1:
        raise UserError("--max-failures: must be >= -1 (-1 retries forever)")
    name = args.name or sweep.settings.name or f"{Path(args.space).stem}-{stamp()}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise UserError(f"--name: '{name}' may hold only letters, digits, '_', '.' and '-'")
    output_root = writable_dir(args.output_root)
    run_dir = output_root / name
    if run_dir.exists():
        raise UserError(
            f"--name: {run_dir} already exists; choose another name or `rudratune resume {run_dir}`"
        )

    # local: these import ray, mlflow and torch; a mistake in the space is reported before any of them
    from rudratune.commands.summary import conclude
    from rudratune.search.datasets import load_sweep_data
    from rudratune.search.finish import finish
    from rudratune.search.record import record_for
    from rudratune.search.runner import check_address, execute, init_ray
    from rudratune.tracking.common import preflight

    check_address(args.address)
    resources = sweep.settings.resources
    gpus = isinstance(resources, Resources) and resources.gpu > 0
    if not args.address:  # on a cluster the GPUs are the workers', not this machine's
        warn_without_cuda(gpus, f"resources.gpu={resources.gpu}" if gpus else "the sweep")
    data = load_sweep_data(sweep, output_root)  # each distinct dataset decoded once (and checked)
    preflight(sweep.base_config.tracking, output_root)
    init_ray(args.address)
    run_dir.mkdir()
    record = record_for(
        run_dir, sweep, storage=args.storage or sweep.settings.storage, output_root=output_root
    )
    record.save()
    print(f"sweep {name}: {sweep.settings.search.num_samples} trials, results in {run_dir}", flush=True)
    for decoded in data.values():
        print(f"data: {decoded.root}: {decoded.describe()}", flush=True)
    outcome = execute(
        record, data, address=args.address, max_failures=args.max_failures, fail_fast=args.fail_fast
    )
    return conclude(record, finish(record, outcome), report=not args.no_report)


def show_dry_run(sweep: Sweep, samples: int) -> int:
    base = sweep.base_config
    settings = sweep.settings
    print(f"{sweep.source}: base {base.name}, metric {settings.metric} ({settings.direction}), "
          f"{settings.search.num_samples} trials, {settings.search.max_concurrent} at a time, "
          f"searcher {settings.search.searcher.name}, scheduler {settings.search.scheduler.name}, "
          f"max_t {sweep.max_epochs} epochs")  # fmt: skip
    print("space:")
    for key in sweep.order:
        print(describe(key, sweep.space[key]))
    found = dry_run(sweep, samples=samples)
    print(f"first {samples} suggestions:")
    for i, suggestion in enumerate(found.suggestions):
        shown = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in suggestion.params.items()
        )
        print(f"  {i:2d}: {shown}  [{suggestion.build}]")
    if found.failures:
        raise UserError(
            f"{sweep.source}: {len(found.failures)} model combination(s) cannot build; first: {found.failures[0]}"
        )
    print(f"ok: {len(found.sizes)} distinct model(s) built on a {'/'.join(map(str, found.sizes))} px tensor")
    return 0
