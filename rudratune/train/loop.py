"""The one function that trains one configuration. ``rudratune train`` and every Tune trial call it."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint

from rudratune.config.schema import ExperimentConfig
from rudratune.data.datamodule import SegDataModule
from rudratune.data.folder import SegmentationData
from rudratune.registry.losses import build_loss
from rudratune.registry.models import build_model
from rudratune.registry.optim import get_optimizer_info, get_scheduler_info
from rudratune.runtime import quiet_loggers, set_threads, usable_cpus
from rudratune.train.module import SegmentationModule
from rudratune.train.outputs import write_artifacts
from rudratune.train.types import RunOptions, TrainResult

__all__ = ["History", "RunOptions", "TrainResult", "build_module", "train"]

EPOCH_KEYS = ("train_loss", "val_loss", "val_dice", "val_iou")


def epoch_metrics(trainer: L.Trainer) -> dict[str, float]:
    """The metrics of the epoch that just ended, with a 1-based ``epoch``."""
    logged = trainer.callback_metrics
    row = {"epoch": trainer.current_epoch + 1}
    for key in EPOCH_KEYS:
        value = logged.get(f"{key}_epoch", logged.get(key))
        if value is not None:
            row[key] = float(value)
    row["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
    return row


class History(Callback):
    """Keeps one row of metrics per epoch; part of the checkpoint, so a resumed run keeps its past."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.rows.append(epoch_metrics(trainer))

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict["rows"])


def build_module(cfg: ExperimentConfig, in_channels: int = 3) -> SegmentationModule:
    """The LightningModule for ``cfg``, its network taking ``in_channels`` (the data's channels)."""
    net = build_model(
        cfg.model.name,
        encoder=cfg.model.encoder,
        encoder_weights=cfg.model.encoder_weights,
        image_size=cfg.data.image_size,
        in_channels=in_channels,
    )
    return SegmentationModule(
        net,
        build_loss(cfg.loss.name, cfg.loss.params),
        optimizer=get_optimizer_info(cfg.optimizer.name).bind(**cfg.optimizer.model_dump()),
        scheduler=get_scheduler_info(cfg.scheduler.name).bind(
            max_epochs=cfg.trainer.max_epochs, **cfg.scheduler.model_dump()
        ),
    )


def _callbacks(
    cfg: ExperimentConfig, options: RunOptions, history: History
) -> tuple[ModelCheckpoint | None, list[Callback]]:
    """The run's callbacks, and its top-k checkpoint callback when it keeps checkpoints."""
    callbacks: list[Callback] = [
        history,
        EarlyStopping(monitor="val_loss", mode="min", patience=cfg.trainer.early_stopping_patience),
        *options.callbacks,
    ]
    checkpoint = None
    if options.checkpoints:
        checkpoint = ModelCheckpoint(
            dirpath=options.run_dir / "checkpoints",
            filename="epoch{epoch:03d}-val_loss{val_loss:.4f}",
            auto_insert_metric_name=False,
            monitor="val_loss",
            mode="min",
            save_top_k=cfg.trainer.save_top_k,
        )
        callbacks.append(checkpoint)
    if options.loggers:
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    return checkpoint, callbacks


def train(cfg: ExperimentConfig, data: SegmentationData, options: RunOptions) -> TrainResult:
    """Seed → data → model → callbacks → trainer → fit → test → artifacts → metrics.

    Args:
        cfg: the validated experiment.
        data: decoded pairs (decoded once; a sweep shares them across trials).
        options: loggers, callbacks and outputs for this kind of run.

    Example:
        >>> result = train(cfg, load_data(None, "runs"), RunOptions(run_dir=Path("runs/train/x")))
        >>> result.test["test_dice"]
    """
    quiet_loggers()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    cpus = options.cpus or usable_cpus()
    threads = set_threads(cfg.trainer.threads or cpus)
    datamodule = SegDataModule(data, cfg.data, seed=cfg.seed, max_workers=cpus)
    module = build_module(cfg, data.channels)

    history = History()
    checkpoint, callbacks = _callbacks(cfg, options, history)

    trainer = L.Trainer(
        max_epochs=cfg.trainer.max_epochs,
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        precision=cfg.trainer.precision,
        log_every_n_steps=cfg.trainer.log_every_n_steps,
        check_val_every_n_epoch=1,
        num_sanity_val_steps=0,
        deterministic="warn" if cfg.trainer.deterministic else False,
        default_root_dir=options.run_dir,
        logger=list(options.loggers) or False,
        callbacks=callbacks,
        enable_checkpointing=checkpoint is not None,
        enable_progress_bar=options.progress,
        enable_model_summary=options.progress,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=options.resume_from)

    result = TrainResult(history=history.rows, threads=threads)
    if checkpoint is not None and checkpoint.best_model_path:
        result.best_checkpoint = checkpoint.best_model_path
    if options.test:
        (metrics,) = trainer.test(
            module, datamodule=datamodule, ckpt_path=result.best_checkpoint, verbose=False
        )
        result.test = {k: float(v) for k, v in metrics.items()}
    if options.artifacts:
        write_artifacts(cfg, module, datamodule, result, options)
    return result
