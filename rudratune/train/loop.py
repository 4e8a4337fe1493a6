"""The one function that trains one configuration. ``rudratune train`` and every Tune trial call it."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint

from rudratune.config.schema import ExperimentConfig
from rudratune.data.datamodule import SegDataModule
from rudratune.data.folder import SegmentationData
from rudratune.registry.losses import build_loss
from rudratune.registry.models import build_model
from rudratune.registry.optim import get_optimizer_info, get_scheduler_info
from rudratune.runtime import quiet_loggers, set_threads, usable_cpus
from rudratune.train.augment import build_augmenter
from rudratune.train.cost import measure_cost
from rudratune.train.metrics import METRICS, ranking_key, ranking_value, running_best_key
from rudratune.train.module import SegmentationModule
from rudratune.train.outputs import write_artifacts
from rudratune.train.settings import configure
from rudratune.train.types import RunOptions, TrainResult

__all__ = ["History", "RunOptions", "TrainResult", "build_module", "train"]

EPOCH_KEYS = ("train_loss", *METRICS)


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


def with_running_best(row: dict[str, float], previous: dict[str, float] | None) -> dict[str, float]:
    """``row`` plus ``best_<metric>``, the best value of each metric up to this epoch (a running min or max),
    and ``rank_<metric>``, the running best of its ranking value (ties broken by the reference loss)."""
    out = dict(row)
    for name, info in METRICS.items():
        if name not in row:
            continue
        pick = min if info.direction == "min" else max
        for key, value in (
            (running_best_key(name), row[name]),
            (ranking_key(name), ranking_value(name, row)),
        ):
            earlier = (previous or {}).get(key)
            out[key] = value if earlier is None else pick(earlier, value)
    return out


class History(Callback):
    """Keeps one row of metrics per epoch, with the running best of each metric (``best_val_dice``, ...).

    Part of the checkpoint, so a resumed run keeps its past and its running bests.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.rows.append(with_running_best(epoch_metrics(trainer), self.rows[-1] if self.rows else None))

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
        augment=build_augmenter(cfg.augment, image_size=cfg.data.image_size, normalize=cfg.data.normalize),
    )


def _callbacks(
    cfg: ExperimentConfig, options: RunOptions, history: History
) -> tuple[ModelCheckpoint | None, list[Callback]]:
    """The run's callbacks, and its top-k checkpoint callback when it keeps checkpoints."""
    callbacks: list[Callback] = [
        history,
        # decided when validation ends, before any epoch-end hook: Lightning calls EarlyStopping's epoch-end
        # hook after every other callback's, and a trial's last report then said it was not stopping (under
        # ASHA, "stopped by ASHA"; no final checkpoint)
        EarlyStopping(
            monitor="val_loss",
            mode="min",
            patience=cfg.trainer.early_stopping_patience,
            check_on_train_epoch_end=False,
        ),
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
    if options.loggers:  # the epoch's row, as a trial reports it (lr included): after History, which makes it
        from rudratune.tracking.epoch_logger import EpochLogger

        callbacks.append(EpochLogger(history, options.loggers))
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
    datamodule = SegDataModule(data, cfg.data, seed=cfg.seed, transform=options.transform)
    module = build_module(cfg, data.channels)
    precision = configure(module, cfg.trainer)

    history = History()
    checkpoint, callbacks = _callbacks(cfg, options, history)

    trainer = L.Trainer(
        max_epochs=cfg.trainer.max_epochs,
        accelerator=cfg.trainer.accelerator,
        devices=1,  # one process per run: "auto" would spawn one per GPU and re-run the command line
        precision=precision,
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
    cost = _cost(cfg, module, trainer, data.channels) if options.cost else {}
    refused = options.admit(cost) if options.admit else None
    if refused:
        return TrainResult(history=[], threads=threads, cost=cost, refused=refused)
    trainer.fit(module, datamodule=datamodule, ckpt_path=options.resume_from)

    result = TrainResult(history=history.rows, threads=threads, cost=cost)
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


def _cost(
    cfg: ExperimentConfig, module: SegmentationModule, trainer: L.Trainer, channels: int
) -> dict[str, float]:
    return measure_cost(
        module,
        device=trainer.strategy.root_device,
        image_size=cfg.data.image_size,
        batch_size=cfg.data.batch_size,
        channels=channels,
    )
