"""The LightningModule: network, loss, optimizer and scheduler are injected, never looked up here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn

from rudratune.tracking.lightning import STEP_SERIES
from rudratune.train.metrics import dice_iou, reference_loss


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: the run cannot recover, so it ends with this reason."""


PROGRESS = {"train": ("loss",), "val": ("loss", "dice"), "test": ()}
"""What the progress bar of ``rudratune train`` shows, per stage."""


class EpochMeans:
    """A stage's metrics over an epoch: sums weighted by batch size, kept where the values are.

    Lightning's ``self.log`` costs about 0.5 ms a call on a CPU (it walks its result collection each time),
    and a check of the loss per step would make a GPU step wait for the host; the module logs each metric once
    an epoch instead (P7 in BENCHMARKS.md).
    """

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def reset(self) -> None:
        self.sums, self.count = {}, 0

    def add(self, values: dict[str, torch.Tensor], size: int) -> None:
        for key, value in values.items():
            weighted = value.detach().float() * size
            self.sums[key] = weighted if key not in self.sums else self.sums[key] + weighted
        self.count += size

    def means(self) -> dict[str, torch.Tensor]:
        return {key: total / self.count for key, total in self.sums.items()}


class SegmentationModule(L.LightningModule):
    """Binary segmentation with per-stage loss, Dice and IoU.

    Args:
        net: maps (B, C, H, W) images (C: the data's channels) to (B, 1, H, W) logits.
        loss: maps (logits, target) to a scalar.
        optimizer: builds the optimizer from the parameters.
        scheduler: builds a Lightning ``lr_scheduler`` dict (or None) from the optimizer.
        augment: maps a training batch (x, y) to an augmented one on the same device (None: no augmentation).
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        *,
        optimizer: Callable[[Any], torch.optim.Optimizer],
        scheduler: Callable[[torch.optim.Optimizer], dict[str, Any] | None],
        augment: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> None:
        super().__init__()
        self.net, self.loss = net, loss
        self._optimizer, self._scheduler, self._augment = optimizer, scheduler, augment
        self.channels_last = False
        """Feed the net channels-last inputs (set with ``train.settings.prepare_net`` on a GPU)."""
        self._epoch = {stage: EpochMeans() for stage in ("train", "val", "test")}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y)
        dice, iou = dice_iou(logits.detach(), y)
        values = {"loss": loss, "dice": dice.mean(), "iou": iou.mean()}
        if stage != "train":  # the fixed reference loss: comparable across trials whatever their loss
            values["ref_loss"] = reference_loss(logits.detach(), y)
        self._epoch[stage].add(values, x.shape[0])
        if stage == "train":
            self._log_step(loss, x.shape[0])
        return loss

    def _log_step(self, loss: torch.Tensor, size: int) -> None:
        """The per-step loss has readers only in ``rudratune train``: its progress bar (each step), and its
        loggers on the steps Lightning writes to them (every ``trainer.log_every_n_steps``).

        The loggers get it from here, as Lightning's logger connector would give it (``epoch`` added, at
        Lightning's step), not through ``self.log``: its result collection, walked on each logged step, cost
        about 0.3 ms a step with both trackers on (P7), and ``self.log`` on every step 2.3 ms."""
        trainer = self.trainer
        if trainer.progress_bar_callback is not None:
            self.log(
                STEP_SERIES, loss, on_step=True, on_epoch=False, batch_size=size, prog_bar=True, logger=False
            )
        if trainer.loggers and trainer._logger_connector.should_update_logs:
            point = {STEP_SERIES: float(loss.detach()), "epoch": self.current_epoch}
            step = trainer.fit_loop.epoch_loop._batches_that_stepped
            for logger in trainer.loggers:
                logger.log_metrics(point, step=step)

    def _log_epoch(self, stage: str) -> None:
        """The epoch's means, logged once: the names Lightning gave them when they were logged every step."""
        means = self._epoch[stage].means()
        if not torch.isfinite(means["loss"]):  # once an epoch, so a GPU step never waits for the check
            epoch = self.current_epoch + 1  # 1-based, as printed
            raise NonFiniteLossError(f"{stage} loss became {means['loss'].item()} at epoch {epoch}")
        names = {"loss": f"{stage}_loss_epoch" if stage == "train" else f"{stage}_loss"}
        # in fit, train and val reach the loggers through the epoch's History row (tracking.epoch_logger), at
        # step = epoch and under the names a sweep trial reports; test (and a lone validate) is logged here
        to_loggers = stage == "test" or self.trainer.state.fn != "fit"
        for key, value in means.items():
            name = names.get(key, f"{stage}_{key}")
            prog_bar = key in PROGRESS[stage]
            self.log(name, value, on_step=False, on_epoch=True, prog_bar=prog_bar, logger=to_loggers)

    def on_train_epoch_start(self) -> None:
        self._epoch["train"].reset()

    def on_validation_epoch_start(self) -> None:
        self._epoch["val"].reset()

    def on_test_epoch_start(self) -> None:
        self._epoch["test"].reset()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self._augment is not None:  # here, not in the data pipeline: works whatever serves the batches
            batch = self._augment(*batch)
        loss = self._step(batch, "train")
        # the last batch, not on_train_epoch_end: Lightning runs that hook of the callbacks that read the
        # epoch's metrics (History, the trial's reporter) before the module's
        if batch_idx + 1 == self.trainer.num_training_batches:
            self._log_epoch("train")
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def configure_optimizers(self) -> Any:
        optimizer = self._optimizer(self.parameters())
        scheduler = self._scheduler(optimizer)
        return optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
