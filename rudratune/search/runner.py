"""Driver: decode data once, start or join Ray, wire OptunaSearch + ASHA + trackers, run or restore."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
from ray.tune.search import ConcurrencyLimiter

from rudratune.errors import UserError
from rudratune.runtime import usable_cpus
from rudratune.search.budget import TrialEpochBudget
from rudratune.search.callbacks import DriverCallbacks
from rudratune.search.progress import LiveTable
from rudratune.search.record import SweepRecord
from rudratune.search.sampling import make_sampler
from rudratune.search.searcher import ConstrainedOptunaSearch
from rudratune.search.settings import Resources, SweepSettings
from rudratune.search.space import define_by_run, grid_points
from rudratune.tracking.common import (
    ensure_mlflow_experiment,
    find_sweep_run,
    flat_params,
    mlflow_uri,
    wandb_mode,
)
from rudratune.tracking.sweep import SweepTracker
from rudratune.train.cost import COST_KEYS


@dataclass
class Outcome:
    grid: Any
    tracker: Any
    out_of_time: bool = False
    """The sweep's time or trial-epoch budget ran out (unfinished trials are then expected, not an interruption)."""
    fail_fast: bool = False


def init_ray(address: str | None) -> None:
    """Join a cluster when an address is given; otherwise start a local Ray bound to 127.0.0.1."""
    if ray.is_initialized():
        return
    common = dict(log_to_driver=False, logging_level="ERROR", configure_logging=True)
    if address:
        check_address(address)
        try:
            ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
            raise UserError(
                f"--address: cannot join the Ray cluster at {address}: {str(err).splitlines()[0][:200]}"
            ) from None
        return
    # address="local": always a new local Ray, never one someone else left running on this machine
    ray.init(
        address="local",
        num_cpus=usable_cpus(),
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        **common,
    )


def check_address(address: str | None) -> None:
    """A quick TCP check of ``host:port`` and ``ray://host:port`` (ray.init would retry for a long time)."""
    if not address:
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as err:
        raise UserError(
            f"--address: cannot reach a Ray cluster at {address} ({err.strerror or err})"
        ) from None


def resources_for(sweep: Any, *, samples: int = 0) -> dict[str, float]:
    """A trial's CPUs and (fractional) GPUs. ``auto`` (the whole section or one key) splits the cluster's
    CPUs between concurrent trials and packs GPUs by the measured memory of the space's models."""
    return resource_plan(sweep, samples=samples)[0]


def resource_plan(sweep: Any, *, samples: int = 0) -> tuple[dict[str, float], str]:
    """``resources_for`` and a line that says what ``auto`` resolved to (empty when nothing was auto)."""
    res = sweep.settings.resources
    res = Resources(cpu="auto", gpu="auto") if res == "auto" else res
    if res.cpu != "auto" and res.gpu != "auto":
        return {"cpu": res.cpu, "gpu": res.gpu}, ""
    from rudratune.search.packing import estimate  # local: it imports the training code (torch)

    packing = estimate(sweep, res, ray.cluster_resources(), samples=samples)
    return {"cpu": packing.cpu, "gpu": packing.gpu}, packing.describe()


def build_searcher(record: SweepRecord) -> Any:
    sweep = record.sweep
    searcher = ConstrainedOptunaSearch(
        constraints=sweep.settings.constraint_list,
        space=define_by_run(sweep),
        # several objectives: lists (Ray's OptunaSearch then makes a multi-objective study)
        metric=sweep.settings.tune_objectives if sweep.settings.secondary else sweep.settings.rank_metric,
        mode=sweep.settings.modes if sweep.settings.secondary else sweep.settings.direction,
        sampler=make_sampler(sweep),
        points_to_evaluate=grid_points(sweep) or None,
    )
    return ConcurrencyLimiter(searcher, max_concurrent=sweep.settings.search.max_concurrent)


def build_scheduler(record: SweepRecord) -> Any:
    cfg = record.sweep.settings.search.scheduler
    if cfg.name == "fifo":
        return FIFOScheduler()
    max_t = record.sweep.max_epochs
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=max_t,
        grace_period=min(cfg.grace_period, max_t),
        reduction_factor=cfg.reduction_factor,
    )


def build_stopper(settings: SweepSettings) -> Any:
    budget = settings.search.budget_trial_epochs
    if budget is None:
        return None
    return TrialEpochBudget(budget)


def epochs_used(grid: Any) -> int:
    """Trial-epochs the sweep ran: the last reported epoch of every trial, summed."""
    return sum(int((result.metrics or {}).get("epoch", 0)) for result in grid or [])


def build_tracker(record: SweepRecord, *, resume: bool) -> Any:
    cfg = record.sweep.base_config
    output_root = Path(record.output_root)
    uri = experiment_id = parent = None
    if cfg.tracking.mlflow:
        uri = mlflow_uri(cfg.tracking, output_root)
        experiment_id = ensure_mlflow_experiment(uri, cfg.tracking.experiment, output_root)
        parent = _parent_run(uri, experiment_id, record, resume=resume)
    mode = wandb_mode(cfg.tracking)
    wandb = None
    if cfg.tracking.wandb and mode != "disabled":
        wandb = {"project": cfg.tracking.wandb_project, "mode": mode, "dir": str(record.run_dir.resolve())}
    return SweepTracker(
        sweep=record.name,
        mlflow_uri=uri,
        experiment_id=experiment_id,
        parent_run_id=parent,
        wandb=wandb,
        base_params=flat_params(record.sweep.base_dict),
        max_epochs=record.sweep.max_epochs,
        cost_keys=COST_KEYS,
    )


def _parent_run(uri: str, experiment_id: str, record: SweepRecord, *, resume: bool) -> str:
    # local: mlflow is imported only when the sweep tracks to it
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run_dir = str(record.run_dir.resolve())
    if resume and (found := find_sweep_run(client, experiment_id, run_dir)):
        parent = found.info.run_id
        for child in client.search_runs(
            [experiment_id],
            filter_string=f"tags.`mlflow.parentRunId` = '{parent}' and attributes.status = 'RUNNING'",
        ):  # the killed attempt's trials: closed now, reopened if Tune resumes them
            client.set_tag(child.info.run_id, "rudratune.status", "driver died; killed")
            client.set_terminated(child.info.run_id, "KILLED")
        client.update_run(parent, status="RUNNING")
        return parent
    settings = record.sweep.settings
    run = client.create_run(
        experiment_id,
        run_name=record.name,
        tags={"rudratune.kind": "sweep", "rudratune.run_dir": run_dir, "rudratune.sweep": record.name},
    )
    params = flat_params(settings.model_dump(mode="json", exclude={"space"}))
    params.update(
        {
            f"space.{k}": json.dumps(p.model_dump(mode="json", exclude_unset=True))
            for k, p in record.sweep.space.items()
        }
    )
    client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    client.log_artifact(run.info.run_id, str(record.run_dir / "sweep.json"))
    return run.info.run_id


def finish_parent(tracker: Any, best: dict[str, Any] | None, metric: str, *, status: str) -> None:
    if tracker.client is None or tracker.parent_run_id is None:
        return
    client, run_id = tracker.client, tracker.parent_run_id
    if best:
        client.log_metric(run_id, f"best_{metric}", float(best[f"best_{metric}"]))
        for key in COST_KEYS:  # the best trial's cost, beside its score
            if best.get(key) is not None:
                client.log_metric(run_id, key, float(best[key]))
        client.set_tag(run_id, "rudratune.best_trial", best["trial_id"])
    client.set_terminated(run_id, status)


def build_tuner(
    record: SweepRecord,
    trainable: Any,
    callbacks: list[Any],
    *,
    max_failures: int = 0,
    fail_fast: bool = False,
    reuse_actors: bool = True,
) -> Any:
    """A fresh ``tune.Tuner`` for the sweep: its searcher, scheduler, budget, checkpoints and retries."""
    settings = record.sweep.settings
    storage, name = record.experiment_path.rsplit("/", 1)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=build_searcher(record),
            scheduler=build_scheduler(record),
            num_samples=settings.search.num_samples,
            metric=settings.rank_metric,  # ASHA ranks on the running best, as the searcher does
            mode=settings.direction,
            time_budget_s=settings.search.time_budget_s,
            reuse_actors=reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage,
            callbacks=callbacks,
            stop=build_stopper(settings),
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=settings.checkpoints.num_to_keep,
                checkpoint_score_attribute=settings.metric,
                checkpoint_score_order=settings.direction,
            ),
            # Tune refuses retries together with fail_fast
            failure_config=tune.FailureConfig(
                max_failures=0 if fail_fast else max_failures, fail_fast=fail_fast
            ),
        ),
    )


def execute(
    record: SweepRecord,
    data: Any,
    *,
    address: str | None = None,
    max_failures: int | None = None,
    fail_fast: bool = False,
    resume: bool = False,
    reuse_actors: bool = True,
    announce: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Run (or resume) the sweep to completion; trial errors are results, not exceptions.

    ``announce`` receives what ``resources: auto`` resolved to (the command prints it)."""
    # local: the trial imports lightning; only execute needs it (P5 measures the driver without it)
    from rudratune.search.trial import CheckpointPolicy, run_trial

    sweep, settings = record.sweep, record.sweep.settings
    init_ray(address)
    res, said = resource_plan(sweep, samples=max((len(d) for d in (data or {}).values()), default=0))
    if said:
        announce(said)
    if settings.data_transfer == "shared_path":
        data = None
    policy = CheckpointPolicy(
        rungs=settings.search.scheduler.rungs(sweep.max_epochs), every_s=settings.checkpoints.every_s
    )
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            base=sweep.base_dict,
            data=data,
            policy=policy,
            constraints=settings.constraint_list,
            required=tuple(k for k in settings.tune_objectives if k not in COST_KEYS),
        ),
        res,
    )
    tracker = build_tracker(record, resume=resume)
    table = LiveTable(
        metric=settings.rank_metric, mode=settings.direction, num_samples=settings.search.num_samples
    )
    callbacks = [DriverCallbacks(record.experiment_path, [tracker, table])]

    if resume:
        # Tune unpickles the first run's callbacks: DriverCallbacks makes them these live ones
        tuner = tune.Tuner.restore(
            record.experiment_path, trainable=trainable, resume_unfinished=True, resume_errored=True
        )
    else:
        retries = settings.max_failures if max_failures is None else max_failures
        tuner = build_tuner(
            record, trainable, callbacks, max_failures=retries, fail_fast=fail_fast, reuse_actors=reuse_actors
        )
    budget, epoch_budget = settings.search.time_budget_s, settings.search.budget_trial_epochs
    start = time.monotonic()
    try:
        grid = tuner.fit()
    except KeyboardInterrupt:  # a second Ctrl-C skips Tune's own clean-up
        grid = None
    except BaseException:
        finish_parent(tracker, None, settings.metric, status="FAILED")
        raise
    finally:
        tracker.close_open_runs("KILLED")
    return Outcome(
        grid,
        tracker,
        out_of_time=(budget is not None and time.monotonic() - start >= budget)
        or (epoch_budget is not None and epochs_used(grid) >= epoch_budget),
        fail_fast=fail_fast,
    )
