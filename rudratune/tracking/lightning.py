"""The Lightning loggers of ``rudratune train``: MLflow and W&B runs, their best values, dataset and model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rudratune.tracking.common import (
    ensure_mlflow_experiment,
    flat_params,
    git_commit,
    mlflow_uri,
    uri_source,
    wandb_mode,
    wandb_settings,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from rudratune.config.schema import ExperimentConfig
    from rudratune.data.folder import SegmentationData
    from rudratune.serve.pyfunc import Serving

_DIRECTIONS = {"val_loss": "min", "val_dice": "max", "val_iou": "max", "val_ref_loss": "min"}
"""``train.metrics.METRICS``' directions (tracking sits below train: a test keeps the two alike)."""
SUMMARIES = {
    **_DIRECTIONS,
    **{f"best_{name}": direction for name, direction in _DIRECTIONS.items()},
    "train_loss": "min",
    "lr": "last",
}
"""W&B's summary of each epoch series: a metric's best (its direction), the learning rate's last value."""
METRIC_PREFIXES = ("train_", "val_", "best_")
"""Epoch keys both trackers log (with ``lr``), in ``rudratune train`` and in sweep trials alike: a metric, its
running best; not ``rank_*`` (ranking keys) nor ``epoch`` (the step itself)."""
STEP_SERIES = "train_loss_step"
"""The one per-step series (``rudratune train`` only), against Lightning's global step."""


def tracked_metrics(row: dict[str, Any]) -> dict[str, float]:
    """The keys of an epoch's row that trackers log, under the same names in train runs and trials."""
    return {
        k: float(v)
        for k, v in row.items()
        if (k.startswith(METRIC_PREFIXES) or k == "lr") and k != STEP_SERIES and isinstance(v, (int, float))
    }


def make_loggers(
    cfg: ExperimentConfig,
    run_dir: Path,
    output_root: Path,
    run_name: str,
    data: SegmentationData,
    *,
    into: list[Any],
) -> list[Any]:
    """Lightning loggers for MLflow and W&B (each optional), with the resolved config as params.

    Each logger joins ``into`` as soon as its run exists, so the caller can close it if a later step fails.
    """
    from rudratune.data.source import resolve_root
    from rudratune.tracking.dataset import digest, log_input

    loggers = into
    params = flat_params(cfg.to_dict())
    data_digest = digest(data)
    params["data.digest"] = data_digest
    if cfg.tracking.mlflow:
        from rudratune.tracking.batched import BatchedMLFlowLogger

        uri = mlflow_uri(cfg.tracking, output_root)
        ensure_mlflow_experiment(uri, cfg.tracking.experiment, output_root, source=uri_source(cfg.tracking))
        tags = {"rudratune.kind": "train", "rudratune.run_dir": str(run_dir.resolve())}
        if commit := git_commit():
            tags["mlflow.source.git.commit"] = commit
        logger = BatchedMLFlowLogger(
            experiment_name=cfg.tracking.experiment,
            tracking_uri=uri,
            run_name=run_name,
            tags=tags,
            # an epoch's points in one log_batch (tracking/batched.py), through MLflow's async queue: the
            # store's commit (sqlite) or HTTP round trip off the training thread; flushed before the run closes
            synchronous=False,
        )
        loggers.append(logger)
        root = resolve_root(cfg.data.root, output_root)
        log_input(logger.experiment, logger.run_id, root, data, digest_=data_digest)
    if cfg.tracking.wandb and (mode := wandb_mode(cfg.tracking)) != "disabled":
        from rudratune.tracking.batched import BatchedWandbLogger

        logger = BatchedWandbLogger(
            project=cfg.tracking.wandb_project,
            name=run_name,
            id=f"{run_name}-{uuid.uuid4().hex[:6]}",
            save_dir=str(run_dir),
            group=cfg.name,
            job_type="train",
            mode=mode,
            settings=wandb_settings(),
            tags=[f"commit:{commit[:12]}"] if (commit := git_commit()) else None,
        )
        # Lightning passes anonymous=None to wandb.init, and wandb warns about any anonymous setting, on every
        # `rudratune train`; without the key wandb.init gets its default
        getattr(logger, "_wandb_init", {}).pop("anonymous", None)
        loggers.append(logger)
        define_summaries(logger.experiment)
    for logger in loggers:
        logger.log_hyperparams(params)
    return loggers


def define_summaries(run: Any) -> None:
    """W&B: epoch series plotted against ``epoch``, the run table showing each one's best (the learning rate's
    last); the per-step loss against Lightning's ``trainer/global_step``."""
    run.define_metric("epoch")
    for key, summary in SUMMARIES.items():
        run.define_metric(key, step_metric="epoch", summary=summary)
    run.define_metric("trainer/global_step")
    run.define_metric(STEP_SERIES, step_metric="trainer/global_step", summary="min")


def best_values(history: Sequence[dict[str, float]], metric: str = "val_loss") -> dict[str, float]:
    """best_val_dice, best_val_loss, and best_epoch (the epoch with the best ``metric``)."""
    rows = [r for r in history if "val_loss" in r]
    if not rows:
        return {}
    pick = min if metric.endswith("loss") else max
    best = pick(rows, key=lambda r: r.get(metric, float("nan")))
    return {
        "best_val_loss": min(r["val_loss"] for r in rows),
        "best_val_dice": max(r.get("val_dice", 0.0) for r in rows),
        "best_epoch": int(best["epoch"]),
    }


def log_run_end(
    loggers: Sequence[Any],
    history: Sequence[dict[str, float]],
    checkpoint: str | None,
    net: nn.Module,
    images: torch.Tensor,
    serving: Serving | None = None,
    *,
    log_models: bool = True,
) -> None:
    """Best values on every run; the trained network as an MLflow model and a W&B model artifact; with
    ``serving``, also the MLflow pyfunc model that takes raw images (``rudratune.serve``). Without
    ``log_models`` (``tracking.log_models: false``), the values and the checkpoint's tag only."""
    from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

    from rudratune.tracking.model import log_mlflow, log_wandb, prepare

    if not loggers:
        return
    best = best_values(history)
    export = prepare(net, images) if log_models else None
    model_uri = None
    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            if best:  # best_val_* are epoch series already; best_epoch is one value, logged once
                last = int(history[-1]["epoch"])
                logger.experiment.log_metric(
                    logger.run_id, "best_epoch", float(best["best_epoch"]), step=last
                )
            if checkpoint:  # a reference: the checkpoint itself stays in the run folder
                logger.experiment.set_tag(logger.run_id, "rudratune.checkpoint", checkpoint)
            if export is None:
                continue
            model_uri = log_mlflow(export, uri=logger._tracking_uri, run_id=logger.run_id)
            if serving is not None:
                from rudratune.serve.pyfunc import log_pyfunc

                log_pyfunc(net, serving, uri=logger._tracking_uri, run_id=logger.run_id)
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            run.summary.update(best)
            if export is not None:
                log_wandb(export, run, name=f"model-{run.id}", model_uri=model_uri)


def close_loggers(loggers: Sequence[Any], *, status: str) -> None:
    """End every opened run: ``status`` is FINISHED, FAILED or KILLED (MLflow's words)."""
    from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

    from rudratune.tracking.batched import flush

    flush(loggers)  # the points kept since the last epoch's end
    if any(isinstance(logger, MLFlowLogger) and logger._initialized for logger in loggers):
        import mlflow

        mlflow.flush_async_logging()  # every queued metric reaches the store before its run is closed
    for logger in loggers:
        if isinstance(logger, MLFlowLogger) and logger._initialized:
            logger.experiment.set_terminated(logger.run_id, status)
        elif isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish(exit_code=0 if status == "FINISHED" else 1)
