"""The LightningModule: network, loss, optimizer and scheduler are injected, never looked up here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn

from rudratune.train.metrics import dice_iou, reference_loss


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: the run cannot recover, so it ends with this reason."""


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"{stage} loss became {loss.item()} at epoch {self.current_epoch + 1}"  # 1-based, as printed
            )
        dice, iou = dice_iou(logits.detach(), y)
        size = x.shape[0]
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, on_step=on_step, on_epoch=True, batch_size=size, prog_bar=True)
        self.log(
            f"{stage}_dice",
            dice.mean(),
            on_step=False,
            on_epoch=True,
            batch_size=size,
            prog_bar=stage != "train",
        )
        self.log(f"{stage}_iou", iou.mean(), on_step=False, on_epoch=True, batch_size=size)
        if stage != "train":  # the fixed reference loss: comparable across trials whatever their loss
            ref = reference_loss(logits.detach(), y)
            self.log(f"{stage}_ref_loss", ref, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self._augment is not None:  # here, not in the data pipeline: works whatever serves the batches
            batch = self._augment(*batch)
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "test")

    def configure_optimizers(self) -> Any:
        optimizer = self._optimizer(self.parameters())
        scheduler = self._scheduler(optimizer)
        return optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
