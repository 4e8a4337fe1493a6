"""``rudratune run SPACE [key=value ...]``: validate, then run the search (or ``--dry-run`` it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rudratune.commands.common import (
    check_storage,
    created_sweep,
    print_config,
    stamp,
    warn_without_cuda,
    writable_dir,
)
from rudratune.config.schema import check_name
from rudratune.errors import UserError
from rudratune.search import MIN_TRIALS, Resources, Sweep, TrialSchedulerSettings, load_sweep, sweep_warnings
from rudratune.signals import terminate_as_interrupt
from rudratune.train.metrics import METRICS


def run(args: argparse.Namespace) -> int:
    from rudratune.search import check_address, check_local, ray_temp_dir, resolve_address

    address = None
    if not args.dry_run:  # first: a refusal takes a second, before the registries' imports
        address = resolve_address(args.address)
        check_address(address)
        if not address:
            ray_temp_dir()  # the driver's temp files in its private folder from here on (removed at exit)
    sweep = load_sweep(args.space, args.overrides)
    accelerator = sweep.base.trainer.accelerator
    if args.print_config:
        print_config(
            sweep.base.to_dict(provenance=False),
            f"{args.space} (the base experiment; each trial overlays its parameters)",
        )
        return 0
    if args.dry_run:
        if args.dry_run_samples is not None and args.dry_run_samples < 1:
            raise UserError(f"--dry-run-samples: must be at least 1, got {args.dry_run_samples}")
        if args.dry_run_samples is not None and args.dry_run_samples > MAX_DRY_RUN_SAMPLES:
            raise UserError(  # each draw costs the searcher more than the last: 100000 ran for minutes
                f"--dry-run-samples: at most {MAX_DRY_RUN_SAMPLES}, got {args.dry_run_samples}; valid: 1 to "
                f"{MAX_DRY_RUN_SAMPLES}"
            )
        if not args.address:  # a cluster's nodes are checked when the sweep joins it
            check_local(sweep.settings, accelerator, source=str(sweep.source))
        _warn(sweep)
        return show_dry_run(sweep, args.dry_run_samples)
    terminate_as_interrupt()  # Kubernetes, Slurm, docker stop: handled as Ctrl-C from here on
    if not address:
        check_local(sweep.settings, accelerator, source=str(sweep.source))
    name, storage, output_root, run_dir = _where(args, sweep)

    # local: ray, mlflow and torch; a mistake in the space is reported before any of them
    from rudratune.commands.summary import conclude
    from rudratune.search import (
        check_cluster,
        driver_lock,
        execute,
        finish,
        init_ray,
        load_sweep_data,
        record_data,
        record_for,
        save_decodings,
    )
    from rudratune.tracking.common import preflight

    _warn(sweep)
    resources = sweep.settings.resources
    asked = resources.gpu if isinstance(resources, Resources) and resources.gpu != "auto" else 0.0
    if not address:  # on a cluster the GPUs are the workers', not this machine's
        warn_without_cuda(asked > 0, f"resources.gpu={asked:g}" if asked > 0 else "the sweep")
    with driver_lock(run_dir), created_sweep(run_dir):  # a second run or a resume of it is refused
        record = record_for(run_dir, sweep, storage=storage, output_root=output_root)
        record.save()  # first: a sweep interrupted from here on is resumable (it starts fresh)
        data = load_sweep_data(sweep, output_root)  # each distinct dataset decoded once (and checked)
        record_data(run_dir, data)
        save_decodings(run_dir, data)  # `rudratune predict` decodes new images as each trial's data was
        preflight(sweep.base.tracking, output_root)
        init_ray(address)
        if address:
            check_cluster(sweep.settings, accelerator, source=str(sweep.source))
        print(f"sweep {name}: {sweep.settings.search.num_samples} trials, results in {run_dir}", flush=True)
        for decoded in data.values():
            print(f"data: {decoded.root}: {decoded.describe()}", flush=True)
        outcome = execute(
            record,
            data,
            address=address,
            max_failures=args.max_failures,
            fail_fast=args.fail_fast,
            announce=lambda line: print(line, flush=True),
        )
        return conclude(record, finish(record, outcome), report=not args.no_report)


RESERVED_NAMES = {
    "train": "training runs",
    "datasets": "the embedded dataset",
    "mlartifacts": "MLflow's artifacts",
    "mlflow.db": "the MLflow store",
}
"""Names under the output root that are not sweeps: a sweep there would mix with them (or, as mlflow.db,
break the tracker)."""
MAX_DRY_RUN_SAMPLES = 1000
"""Suggestions a dry run may draw: enough to see a space, few enough to answer in seconds."""


def _where(args: argparse.Namespace, sweep: Sweep) -> tuple[str, str | None, Path, Path]:
    """The sweep's name, storage, output root and folder, each checked before anything is created."""
    if args.max_failures is not None and args.max_failures < -1:
        raise UserError("--max-failures: must be >= -1 (-1 retries forever)")
    name = args.name or sweep.settings.name or f"{Path(args.space).stem}-{stamp()}"
    try:
        check_name(name)
    except ValueError as err:
        raise UserError(f"--name: {err}") from None
    if name in RESERVED_NAMES:
        raise UserError(
            f"--name: '{name}' is where the output root keeps {RESERVED_NAMES[name]}; valid: any other name"
        )
    if args.storage:
        storage = check_storage(args.storage)
    else:
        storage = check_storage(sweep.settings.storage, what="storage", base=sweep.source.parent)
    output_root = writable_dir(args.output_root)
    run_dir = output_root / name
    try:  # atomic: of two `run --name X` at once, the second is refused here, before anything is started
        run_dir.mkdir()
    except FileExistsError:
        raise UserError(
            f"--name: {run_dir} already exists; choose another name or `rudratune resume {run_dir}`"
        ) from None
    except OSError as err:
        raise UserError(f"--name: cannot create {run_dir} ({err.strerror})") from None
    return name, storage, output_root, run_dir


def _warn(sweep: Sweep) -> None:
    for warning in sweep_warnings(sweep.settings, sweep.max_epochs):
        print(f"rudratune: warning: {sweep.source}: {warning}", file=sys.stderr)


def show_dry_run(sweep: Sweep, samples: int) -> int:
    from rudratune.search import describe, dry_run, packing_estimate  # local: they import torch and ray

    base = sweep.base
    settings = sweep.settings
    print(
        f"{sweep.source}: base {base.name}, metric {settings.metric} ({settings.direction}), "
        f"{settings.search.num_samples} trials, {settings.search.max_concurrent} at a time, "
        f"searcher {settings.search.searcher.name}, scheduler {scheduler_text(settings.search.scheduler)}, "
        f"max_t {sweep.max_epochs} epochs"
    )
    args = sweep.sampler_args()
    shown = ", ".join(f"{k}={v}" for k, v in args.items() if k != "sampler")
    ties = ", ties broken by val_ref_loss" if METRICS[settings.metric].ties else ""
    print(
        f"ranked by {settings.rank_metric} (running best of {settings.metric}{ties}); "
        f"sampler {args['sampler']}({shown})"
    )
    if settings.secondary:
        print(
            f"objectives {settings.objectives} ({', '.join(settings.modes)}), optimised jointly; "
            f"ASHA stops trials on {settings.rank_metric}"
        )
    if settings.constraints:
        before = [str(c) for c in settings.constraint_list if c.before_training]
        after = [str(c) for c in settings.constraint_list if not c.before_training]
        print(
            f"constraints: checked before training: {', '.join(before) or 'none'}; "
            f"at a trial's end: {', '.join(after) or 'none'}"
        )
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
    said = packing_estimate(sweep)
    if said:
        print(said)
    return 0


def scheduler_text(scheduler: TrialSchedulerSettings) -> str:
    if scheduler.name != "asha":
        return scheduler.name
    grace = (
        f"grace period measured once {MIN_TRIALS} trials have run every epoch"
        if scheduler.measured
        else f"grace period {scheduler.grace_period}"
    )
    return f"asha ({grace}, reduction factor {scheduler.reduction_factor:g})"
