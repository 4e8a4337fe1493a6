"""``rudratune train CONFIG [key=value ...]``: train one configuration with both trackers."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path
from typing import Any

from rudratune.commands.common import fmt_metrics, print_config, stamp, warn_without_cuda, writable_dir
from rudratune.config.experiment import load_experiment
from rudratune.config.schema import ExperimentConfig
from rudratune.tracking.common import ensure_mlflow_experiment, flat_params, mlflow_uri, preflight, wandb_mode

TEST_KEYS = ("test_loss", "test_dice", "test_iou")


def make_loggers(cfg: ExperimentConfig, run_dir: Path, output_root: Path, run_name: str) -> list[Any]:
    """Lightning loggers for MLflow and W&B (each optional), with the resolved config as params."""
    loggers: list[Any] = []
    params = flat_params(cfg.to_dict())
    if cfg.tracking.mlflow:
        from lightning.pytorch.loggers import MLFlowLogger

        uri = mlflow_uri(cfg.tracking, output_root)
        ensure_mlflow_experiment(uri, cfg.tracking.experiment, output_root)
        loggers.append(
            MLFlowLogger(
                experiment_name=cfg.tracking.experiment,
                tracking_uri=uri,
                run_name=run_name,
                tags={"rudratune.kind": "train", "rudratune.run_dir": str(run_dir.resolve())},
            )
        )
    mode = wandb_mode(cfg.tracking)
    if cfg.tracking.wandb and mode != "disabled":
        from lightning.pytorch.loggers import WandbLogger

        loggers.append(
            WandbLogger(
                project=cfg.tracking.wandb_project,
                name=run_name,
                id=f"{run_name}-{uuid.uuid4().hex[:6]}",
                save_dir=str(run_dir),
                group=cfg.name,
                job_type="train",
                mode=mode,
            )
        )
    for logger in loggers:
        logger.log_hyperparams(params)
    return loggers


def close_loggers(loggers: list[Any], *, failed: bool) -> None:
    from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, MLFlowLogger) and logger._initialized:
            logger.experiment.set_terminated(logger.run_id, "FAILED" if failed else "FINISHED")
        elif isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish(exit_code=1 if failed else 0)


def run(args: argparse.Namespace) -> int:
    cfg = load_experiment(args.config, args.overrides)
    if args.print_config:
        print_config(cfg.to_dict(), f"{args.config} {' '.join(args.overrides)}".strip())
        return 0
    output_root = writable_dir(args.output_root)
    warn_without_cuda(
        cfg.trainer.accelerator in ("gpu", "cuda"), f"trainer.accelerator={cfg.trainer.accelerator}"
    )

    # local: lightning and torch take seconds; config mistakes are reported before
    from rudratune.data.checks import check_memory, check_split
    from rudratune.data.source import load_data
    from rudratune.train.loop import RunOptions, train

    data = load_data(cfg.data.root, output_root, cfg.data.intensity)
    check_split(data, cfg.data, seed=cfg.seed)
    check_memory(data, cfg.data)
    preflight(cfg.tracking, output_root)
    run_name = f"{cfg.name}-{stamp()}"
    run_dir = output_root / "train" / run_name
    run_dir.mkdir(parents=True)
    print(f"data: {data.root}: {data.describe()}", flush=True)
    loggers = make_loggers(cfg, run_dir, output_root, run_name)
    failed = True
    try:
        result = train(cfg, data, RunOptions(run_dir=run_dir, loggers=loggers, progress=not args.quiet))
        failed = False
    finally:
        close_loggers(loggers, failed=failed)

    best = result.best
    print(f"best epoch {best.get('epoch')}: {fmt_metrics(best, ('val_loss', 'val_dice', 'val_iou'))}")
    if cfg.provenance and "best_val_loss" in cfg.provenance:
        _print_reproduction(cfg.provenance, result.history)
    print(f"outputs: {run_dir}")
    print(fmt_metrics(result.test, TEST_KEYS))
    return 0


def _print_reproduction(provenance: dict[str, Any], history: list[dict[str, float]]) -> None:
    epoch = provenance.get("best_epoch")
    row = next((r for r in history if r["epoch"] == epoch), None)
    if row is None or "val_loss" not in row:
        print(f"reproduction: epoch {epoch} of the sweep trial was not reached")
        return
    diff = abs(row["val_loss"] - provenance["best_val_loss"])
    print(
        f"reproduction: val_loss at epoch {epoch} = {row['val_loss']:.6f}, "
        f"sweep trial {provenance.get('trial_id')}: {provenance['best_val_loss']:.6f} (|diff| {diff:.2e})"
    )
