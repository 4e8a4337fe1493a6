"""``rudratune train CONFIG [key=value ...]``: train one configuration with both trackers."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rudratune.commands.common import (
    fmt_metrics,
    print_config,
    stamp,
    unique_dir,
    warn_without_cuda,
    writable_dir,
)
from rudratune.config.experiment import load_experiment
from rudratune.errors import UserError, warn
from rudratune.runtime import DiskReserve, StopSignals, Terminated, disk_full
from rudratune.tracking.common import preflight

if TYPE_CHECKING:
    from rudratune.config.schema import ExperimentConfig

TEST_KEYS = ("test_loss", "test_dice", "test_iou", "test_ref_loss")
RUN_CONFIG = "config.yaml"
"""The run's resolved experiment, in its folder (credentials in URIs redacted)."""


def write_config(cfg: ExperimentConfig, path: Path) -> None:
    import yaml

    from rudratune.tracking.common import redact_tree

    path.write_text(yaml.safe_dump(redact_tree(cfg.to_dict()), sort_keys=False))


def check_accelerator(accelerator: str, *, source: str) -> None:
    """``gpu``/``cuda``/``mps`` on a machine without one is refused before anything starts."""
    import torch  # local: torch takes seconds; only a run that trains gets here

    from rudratune.runtime import gpu_count

    missing = (accelerator in ("gpu", "cuda") and not gpu_count()) or (
        accelerator == "mps" and not torch.backends.mps.is_available()
    )
    if missing:
        raise UserError(
            f"{source}: trainer.accelerator: '{accelerator}' but this machine has none that torch can use; "
            "valid here: auto, cpu"
        )


def run(args: argparse.Namespace) -> int:
    with StopSignals() as stop:  # SIGTERM (Kubernetes, Slurm, docker stop) ends the run like Ctrl-C
        return _run(args, stop)


def _run(args: argparse.Namespace, stop: StopSignals) -> int:
    cfg = load_experiment(args.config, args.overrides)
    check_accelerator(cfg.trainer.accelerator, source=args.config)
    if args.print_config:
        print_config(cfg.to_dict(), f"{args.config} {' '.join(args.overrides)}".strip())
        return 0
    output_root = writable_dir(args.output_root)
    warn_without_cuda(
        cfg.trainer.accelerator in ("gpu", "cuda"), f"trainer.accelerator={cfg.trainer.accelerator}"
    )
    try:
        with DiskReserve(output_root) as reserve:
            return _train(args, cfg, output_root, stop, reserve)
    except OSError as err:
        if not disk_full(err):
            raise
        raise UserError(
            f"--output-root: {output_root}: no space left on device; free space and run again"
        ) from None


def _train(
    args: argparse.Namespace,
    cfg: ExperimentConfig,
    output_root: Path,
    stop: StopSignals,
    reserve: DiskReserve,
) -> int:
    # local: lightning and torch take seconds; config mistakes are reported before
    from rudratune.data.checks import check_memory, check_split
    from rudratune.data.source import load_data
    from rudratune.tracking.lightning import make_loggers
    from rudratune.train.loop import RunOptions, train
    from rudratune.train.module import NonFiniteLossError

    data = load_data(cfg.data.root, output_root, cfg.data.intensity)
    check_split(data, cfg.data, seed=cfg.seed)
    check_memory(data, cfg.data)
    preflight(cfg.tracking, output_root)
    run_dir = unique_dir(output_root / "train", f"{cfg.name}-{stamp()}")  # two jobs in one second: -2
    run_name = run_dir.name
    if data.decoding is not None:  # how new images must be decoded to match (rudratune.data.preprocess)
        (run_dir / "decoding.json").write_text(data.decoding.to_json() + "\n")
    write_config(cfg, run_dir / RUN_CONFIG)  # `rudratune predict RUN_DIR` rebuilds the network from it
    print(f"data: {data.root}: {data.describe()}", flush=True)
    loggers: list[Any] = []
    status = "FAILED"
    options = RunOptions(
        run_dir=run_dir,
        loggers=loggers,
        progress=not args.quiet,
        callbacks=[_free_on_error(reserve), _stop_at_next_batch(stop)],
    )
    try:  # every tracker run opened from here on ends FINISHED, FAILED or KILLED, whatever happens
        make_loggers(cfg, run_dir, output_root, run_name, data, into=loggers)
        result = train(cfg, data, options)
        for logger in loggers:
            logger.log_metrics(result.cost)
        status = "FINISHED"
    except (KeyboardInterrupt, SystemExit) as err:
        if stop.signum is None and not isinstance(err, KeyboardInterrupt):
            raise
        status = "KILLED"  # Lightning turns the signal's KeyboardInterrupt into SystemExit(1)
        closed = "its tracker runs are closed KILLED; " if loggers else ""
        raise Terminated(stop.signum or signal.SIGINT, f"{closed}partial outputs: {run_dir}") from None
    except NonFiniteLossError as err:
        raise UserError(
            f"{args.config}: {err}; the run cannot recover (try a lower optimizer.lr than {cfg.optimizer.lr:g}); "
            f"its partial outputs: {run_dir}"
        ) from None
    except Exception as err:
        full = disk_full(err)
        if full is None:
            raise
        reserve.release()
        _remove_partial(full, run_dir)
        raise UserError(
            f"--output-root: {output_root}: no space left on device while training; its tracker runs are closed "
            f"FAILED; free space and run again (partial outputs: {run_dir})"
        ) from None
    finally:
        _close(loggers, status)

    best = result.best
    print(
        f"best epoch {best.get('epoch')}: {fmt_metrics(best, ('val_loss', 'val_dice', 'val_iou', 'val_ref_loss'))}"
    )
    if cfg.provenance and f"best_{cfg.provenance.get('metric')}" in cfg.provenance:
        _print_reproduction(cfg.provenance, result.history)
    print(f"outputs: {run_dir}")
    print("cost: " + "  ".join(f"{k} {v:.3f}" for k, v in result.cost.items()))
    print(fmt_metrics(result.test, TEST_KEYS))
    return 0


def _free_on_error(reserve: DiskReserve) -> Any:
    """A callback that frees the disk reserve when ``fit`` fails on a full disk, before Lightning ends the
    loggers' runs itself (their last write would fail too)."""
    from lightning.pytorch.callbacks import Callback  # local: lightning takes seconds to import

    class FreeOnError(Callback):
        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            if disk_full(exception) is not None:
                reserve.release()

    return FreeOnError()


def _stop_at_next_batch(stop: StopSignals) -> Any:
    """A callback that raises the stop signal again at the next batch.

    The handler raises where the main thread happens to be, and code there can swallow it: a SIGINT that came
    while Lightning's atomic checkpoint save closed its file was lost in fsspec's ``closed`` property, and
    training went on for its 500 epochs (seen in CI). The handler raises once only, so it is raised again here.
    """
    from lightning.pytorch.callbacks import Callback  # local: lightning takes seconds to import

    class StopAtNextBatch(Callback):
        def _check(self, *args: Any) -> None:
            stop.reraise()

        on_train_batch_start = on_validation_batch_start = on_test_batch_start = _check
        on_train_epoch_end = on_validation_epoch_end = _check

    return StopAtNextBatch()


def _remove_partial(err: BaseException, run_dir: Path) -> None:
    """The file whose write ran out of space (a checkpoint cut short) is of no use: free its space."""
    for name in (getattr(err, "filename2", None), getattr(err, "filename", None)):
        if name and Path(name).resolve().is_relative_to(run_dir.resolve()) and Path(name).is_file():
            Path(name).unlink()


def _close(loggers: list[Any], status: str) -> None:
    """End every opened run, each on its own: one that cannot be closed does not keep the others open."""
    from rudratune.tracking.lightning import close_loggers

    for logger in loggers:
        try:
            close_loggers([logger], status=status)
        except Exception as err:  # a full disk or a dead W&B service: said, and the rest still closed
            warn(f"could not close the {type(logger).__name__} run {status}: {type(err).__name__}")


def _print_reproduction(provenance: dict[str, Any], history: list[dict[str, float]]) -> None:
    """The sweep's metric at the trial's best epoch, retrained: the same value when the run reproduces."""
    epoch, metric = provenance.get("best_epoch"), provenance["metric"]
    row = next((r for r in history if r["epoch"] == epoch), None)
    if row is None or metric not in row:
        print(f"reproduction: epoch {epoch} of the sweep trial was not reached")
        return
    expected = provenance[f"best_{metric}"]
    diff = abs(row[metric] - expected)
    print(
        f"reproduction: {metric} at epoch {epoch} = {row[metric]:.6f}, "
        f"sweep trial {provenance.get('trial_id')}: {expected:.6f} (|diff| {diff:.2e})"
    )
