"""Driver: decode data once, start or join Ray, wire OptunaSearch + ASHA + trackers, run or restore."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import ray
from ray import tune
from ray.tune.search import ConcurrencyLimiter

from rudratune.errors import UserError
from rudratune.runtime import usable_cpus
from rudratune.search.asha import build_scheduler
from rudratune.search.budget import TrialEpochBudget
from rudratune.search.callbacks import DriverCallbacks
from rudratune.search.progress import LiveTable
from rudratune.search.record import SweepRecord
from rudratune.search.sampling import make_sampler
from rudratune.search.searcher import ConstrainedOptunaSearch
from rudratune.search.settings import Resources, SweepSettings
from rudratune.search.space import define_by_run, grid_points
from rudratune.search.tracking import build_tracker, finish_parent, start_tracking
from rudratune.train.cost import COST_KEYS
from rudratune.train.metrics import running_best_key

STUDY_DB = "optuna.db"
RAY_TEMP_MAX = 107 - len("/session_2026-11-27_17-08-06_186406_99999/sockets/plasma_store")
"""Longest temp folder that leaves room for Ray's session and socket names (AF_UNIX: 107 bytes)."""


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
    if not os.environ.get("RAY_AUTH_TOKEN_PATH"):  # its token in the environment, not in ~/.ray/auth_token
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    ray.init(
        address="local",
        num_cpus=usable_cpus(),
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        _temp_dir=ray_temp_dir(),
        **common,
    )
    from rudratune.search.watchdog import start_watchdog

    start_watchdog()  # its agents would otherwise outlive a driver killed with kill -9


def ray_temp_dir() -> str | None:
    """A private folder for the local Ray's session (logs, sockets), removed when the driver exits.

    Ray's default, ``/tmp/ray/session_*``, is never removed. ``$RAY_TMPDIR``, when set, wins. The folder
    is in the system temp dir, not the output root: Ray's socket paths must stay under 108 bytes.
    """
    if os.environ.get("RAY_TMPDIR"):
        return None
    path = tempfile.mkdtemp(prefix="rudratune-ray-")
    if len(path) > RAY_TEMP_MAX and Path("/tmp").is_dir():  # a long $TMPDIR: Ray's sockets would not fit
        os.rmdir(path)
        path = tempfile.mkdtemp(prefix="rudratune-ray-", dir="/tmp")

    def remove() -> None:
        ray.shutdown()  # Ray's own exit hook runs after this one: its processes must be gone first
        shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    return path


def check_address(address: str | None) -> None:
    """A quick TCP check of ``host:port`` and ``ray://host:port`` (ray.init would retry for a long time)."""
    if not address:
        return
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():  # ray.init would retry such an address for ~30 s
        raise UserError(f"--address: '{address}' is not auto, host:port or ray://host:port")
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
        storage=study_storage(record),
        study_name=record.name,
    )
    return ConcurrencyLimiter(searcher, max_concurrent=sweep.settings.search.max_concurrent)


def study_storage(record: SweepRecord) -> Any:
    """The Optuna study in ``<sweep>/optuna.db``: optuna-dashboard and ``optuna.load_study`` read it live."""
    # get_storage: RDBStorage behind Optuna's trial cache (a bare RDBStorage re-reads every trial per ask)
    return optuna.storages.get_storage(f"sqlite:///{(record.run_dir / STUDY_DB).resolve()}")


def build_stopper(settings: SweepSettings) -> Any:
    budget = settings.search.budget_trial_epochs
    if budget is None:
        return None
    return TrialEpochBudget(budget)


def epochs_used(grid: Any) -> int:
    """Trial-epochs the sweep ran: the last reported epoch of every trial, summed."""
    return sum(int((result.metrics or {}).get("epoch", 0)) for result in grid or [])


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


def build_trainable(record: SweepRecord, data: Any, announce: Callable[[str], None]) -> Any:
    """The trial function with its data, checkpoint policy, constraints and resources bound."""
    # local: the trial imports lightning; only execute needs it (P5 measures the driver without it)
    from rudratune.search.trial import CheckpointPolicy, run_trial

    sweep, settings = record.sweep, record.sweep.settings
    res, said = resource_plan(sweep, samples=max((len(d) for d in (data or {}).values()), default=0))
    if said:
        announce(said)
    shipped = None if settings.data_transfer == "shared_path" else data
    policy = CheckpointPolicy(
        rungs=settings.search.scheduler.rungs(sweep.max_epochs), every_s=settings.checkpoints.every_s
    )
    return tune.with_resources(
        tune.with_parameters(
            run_trial,
            base=sweep.base_dict,
            data=shipped,
            policy=policy,
            constraints=settings.constraint_list,
            required=tuple(k for k in settings.tune_objectives if k not in COST_KEYS),
        ),
        res,
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
    settings = record.sweep.settings
    init_ray(address)
    trainable = build_trainable(record, data, announce)
    tracker = build_tracker(record)
    table = LiveTable(
        metric=running_best_key(settings.metric),
        mode=settings.direction,
        num_samples=settings.search.num_samples,
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
        start_tracking(tracker, record, data, resume=resume)  # after the Tuner accepted storage and space
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
