"""The sweep's driver: wire OptunaSearch + the scheduler + the trackers into a Tuner, run it or restore it."""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray import tune

from rudratune.search.driver.callbacks import DriverCallbacks
from rudratune.search.driver.progress import LiveTable
from rudratune.search.driver.tracker import SweepTracker
from rudratune.search.driver.tune_state import recover
from rudratune.search.placement import init_ray, resource_plan
from rudratune.search.record import SweepRecord
from rudratune.search.strategy import build_scheduler, build_searcher, build_stopper, relocate_study
from rudratune.signals import interrupted, tune_running
from rudratune.train.cost import COST_KEYS
from rudratune.train.metrics import running_best_key

if TYPE_CHECKING:
    from rudratune.data.folder import SegmentationData

Datasets = dict[str, "SegmentationData"]
"""``data.source.dataset_key`` → the decoded dataset (what the driver decoded once for the sweep)."""


@dataclass
class Outcome:
    grid: Any
    """Ray's ResultGrid, or None when the sweep was interrupted before Tune returned one."""
    tracker: SweepTracker
    out_of_time: bool = False
    """The sweep's time or trial-epoch budget ran out (unfinished trials are then expected, not an interruption)."""
    fail_fast: bool = False
    interrupted: bool = False
    """A Ctrl-C or SIGTERM stopped the sweep (Tune may then report every started trial as terminated)."""


FULL_BYTES = 2**20
"""Free space below which the sweep folder's disk counts as full."""


def _disk_full(record: SweepRecord) -> bool:
    try:
        return shutil.disk_usage(record.run_dir).free < FULL_BYTES
    except OSError:
        return False


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


def build_trainable(record: SweepRecord, data: Datasets | None, announce: Callable[[str], None]) -> Any:
    """The trial function with its data, checkpoint policy, constraints and resources bound."""
    # local: the trial imports lightning; only execute needs it (P5 measures the driver without it)
    from rudratune.search.driver.trial import CheckpointPolicy, run_trial

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
            base=sweep.base,
            data=shipped,
            policy=policy,
            constraints=settings.constraint_list,
            required=tuple(k for k in settings.tune_objectives if k not in COST_KEYS),
        ),
        res,
    )


def execute(
    record: SweepRecord,
    data: Datasets | None,
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
    if resume and "://" not in record.experiment_path and (said := recover(Path(record.experiment_path))):
        announce(said)  # a state file cut short by a full disk: Tune would restart the sweep from nothing
    init_ray(address)
    trainable = build_trainable(record, data, announce)
    tracker = SweepTracker.for_record(record)
    table = LiveTable(
        metric=running_best_key(settings.metric),
        mode=settings.direction,
        num_samples=settings.search.num_samples,
    )
    callbacks = [DriverCallbacks(record.experiment_path, [tracker, table])]

    if resume and not tune.Tuner.can_restore(record.experiment_path):
        # killed after sweep.json, before Tune saved anything: no trial ran, so it starts afresh
        announce(f"sweep {record.name} never reached its first trial (no Tune state yet): starting it afresh")
        resume = False
    if resume:
        relocate_study(record.run_dir)  # a moved or copied sweep: its own optuna-journal.log
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
        tracker.start(record, data, resume=resume)  # after the Tuner accepted storage and space
        if record.saved_in and record.saved_in != str(record.run_dir.resolve()):
            record.save()  # moved or copied: sweep.json now says where it is
        # Tune logs each trial error's traceback on the console; each is in the trial's error.txt, its
        # results row and its MLflow run, and a disk filling up printed 1,745 lines of them
        for name in ("ray.tune", "ray.air", "ray.train", "mlflow", "wandb"):  # what fails is said in one line
            logging.getLogger(name).setLevel(logging.CRITICAL)
        logging.raiseExceptions = (
            False  # a library's log file on a full disk: no "--- Logging error ---" dumps
        )
        with tune_running():  # a first Ctrl-C or SIGTERM stops Tune gracefully (it saves its state)
            grid = tuner.fit()
    except KeyboardInterrupt:  # a second Ctrl-C skips Tune's own clean-up
        grid = None
    except BaseException as err:
        tracker.finish_parent(None, status="FAILED")
        if isinstance(err, Exception) and _disk_full(record):
            # whatever Tune tripped over (a truncated error file, a failed state save), the cause is the disk
            raise OSError(errno.ENOSPC, "No space left on device", str(record.run_dir)) from None
        raise
    finally:
        with tracker.closed_on_interrupt():  # a signal now, Tune having returned, must not leave runs open
            tracker.close_open_runs("KILLED")
    return Outcome(
        grid,
        tracker,
        out_of_time=(budget is not None and time.monotonic() - start >= budget)
        or (epoch_budget is not None and epochs_used(grid) >= epoch_budget),
        fail_fast=fail_fast,
        interrupted=interrupted(),
    )
