from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rudratune.registry.losses import build_loss
from rudratune.train.loop import with_running_best
from rudratune.train.metrics import (
    METRICS,
    comparable_metrics,
    dice_iou,
    ranking_key,
    ranking_value,
    reference_loss,
    running_best_key,
)
from rudratune.train.module import SegmentationModule


def test_dice_and_iou_per_image_with_empty_mask_convention() -> None:
    target = torch.zeros(3, 1, 4, 4)
    target[0, 0, :2] = 1  # 8 pixels
    logits = torch.full((3, 1, 4, 4), -10.0)
    logits[0, 0, :1] = 10  # predicts 4 of the 8
    logits[2, 0, 0, 0] = 10  # image 2: empty truth, one false pixel
    dice, iou = dice_iou(logits, target)
    assert torch.allclose(dice, torch.tensor([2 * 4 / 12, 1.0, 0.0]))
    assert torch.allclose(iou, torch.tensor([4 / 8, 1.0, 0.0]))


def test_reference_loss_matches_its_definition() -> None:
    target = torch.zeros(2, 1, 4, 4)
    target[0, 0, :2] = 1
    logits = torch.linspace(-3, 3, 32).reshape(2, 1, 4, 4)
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    soft_dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    bce = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
    expected = 0.5 * (1 - soft_dice.mean()) + 0.5 * bce
    assert torch.allclose(reference_loss(logits, target), expected, atol=1e-6)
    confident = torch.where(target > 0, 20.0, -20.0)
    assert reference_loss(confident, target) < 1e-6


def _validate(loss_name: str, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    torch.manual_seed(0)
    net = nn.Conv2d(3, 1, 3, padding=1)  # the same weights for every loss: the same predictions
    module = SegmentationModule(
        net,
        build_loss(loss_name, {}),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
        scheduler=lambda opt: None,
    )
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    (metrics,) = trainer.validate(module, DataLoader(TensorDataset(x, y), batch_size=3), verbose=False)
    return {k: float(v) for k, v in metrics.items()}


def test_reference_loss_is_identical_across_training_losses() -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, 16, 16, generator=generator)
    y = (torch.rand(6, 1, 16, 16, generator=generator) > 0.6).float()
    by_loss = {name: _validate(name, x, y) for name in ("DiceLoss", "DiceFocalLoss", "BCEWithLogits")}
    torch.manual_seed(0)
    direct = float(reference_loss(nn.Conv2d(3, 1, 3, padding=1)(x).detach(), y))
    for metrics in by_loss.values():
        assert abs(metrics["val_ref_loss"] - direct) < 1e-5  # the same number whatever the training loss
        assert metrics["val_dice"] == by_loss["DiceLoss"]["val_dice"]
    losses = sorted(m["val_loss"] for m in by_loss.values())
    assert losses[-1] - losses[0] > 0.05  # while each trial's own val_loss differs in scale


def test_running_best_follows_each_metrics_direction() -> None:
    rows, previous = [], None
    for dice, ref in ((0.3, 0.6), (0.5, 0.7), (0.4, 0.5)):
        previous = with_running_best(
            {"epoch": len(rows) + 1, "val_dice": dice, "val_ref_loss": ref}, previous
        )
        rows.append(previous)
    assert [r["best_val_dice"] for r in rows] == [0.3, 0.5, 0.5]
    assert [r["best_val_ref_loss"] for r in rows] == [0.6, 0.6, 0.5]
    assert running_best_key("val_dice") == "best_val_dice"


def test_trials_tied_at_dice_zero_rank_by_the_reference_loss() -> None:
    """After one epoch many trials predict no pores (val Dice exactly 0): ASHA and TPE must still order them,
    so the ranking value breaks ties with the reference loss, and only ties."""
    closer = with_running_best({"epoch": 1, "val_dice": 0.0, "val_ref_loss": 0.4}, None)
    farther = with_running_best({"epoch": 1, "val_dice": 0.0, "val_ref_loss": 0.9}, None)
    assert closer["best_val_dice"] == farther["best_val_dice"] == 0.0
    assert closer[ranking_key("val_dice")] > farther[ranking_key("val_dice")]
    better = with_running_best({"epoch": 1, "val_dice": 0.001, "val_ref_loss": 999.0}, None)
    assert better[ranking_key("val_dice")] > closer[ranking_key("val_dice")]  # a real Dice gain always wins
    for name, info in METRICS.items():  # smooth metrics rank as they are
        if not info.ties:
            assert ranking_value(name, {"val_ref_loss": 0.5, name: 0.25}) == 0.25
    # the rank is a running best too: a worse later epoch does not lower it
    later = with_running_best({"epoch": 2, "val_dice": 0.0, "val_ref_loss": 0.95}, closer)
    assert later[ranking_key("val_dice")] == closer[ranking_key("val_dice")]


def test_metric_table_says_which_metrics_depend_on_the_loss() -> None:
    assert comparable_metrics() == ["val_dice", "val_iou", "val_ref_loss"]
    assert {m: i.direction for m, i in METRICS.items()} == {
        "val_loss": "min",
        "val_dice": "max",
        "val_iou": "max",
        "val_ref_loss": "min",
    }


def test_epoch_metrics_are_per_image_means_over_uneven_batches() -> None:
    # 7 images in batches of 3, 3 and 1: each metric is logged once an epoch, weighted by batch size
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(7, 3, 16, 16, generator=generator)
    y = (torch.rand(7, 1, 16, 16, generator=generator) > 0.6).float()
    torch.manual_seed(0)
    net = nn.Conv2d(3, 1, 3, padding=1)
    loss = build_loss("DiceLoss", {})
    module = SegmentationModule(
        net, loss, optimizer=lambda params: torch.optim.SGD(params, lr=0.0), scheduler=lambda opt: None
    )
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    trainer.fit(module, loader, loader)  # lr 0: training leaves the weights as validation sees them
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    with torch.no_grad():
        logits = net(x)
        dice, iou = dice_iou(logits, y)
        batch_losses = [float(loss(net(xb), yb)) * len(xb) for xb, yb in loader]
    assert logged["val_dice"] == pytest.approx(float(dice.mean()), abs=1e-6)
    assert logged["val_iou"] == pytest.approx(float(iou.mean()), abs=1e-6)
    assert logged["train_dice"] == pytest.approx(float(dice.mean()), abs=1e-6)
    assert logged["val_loss"] == pytest.approx(sum(batch_losses) / 7, abs=1e-6)
    assert logged["train_loss_epoch"] == pytest.approx(sum(batch_losses) / 7, abs=1e-6)
    assert logged["val_ref_loss"] == pytest.approx(
        sum(float(reference_loss(net(xb), yb)) * len(xb) for xb, yb in loader) / 7, abs=1e-6
    )
    assert "train_loss_step" not in logged  # no logger and no progress bar: no per-step logging


class EveryStep(SegmentationModule):
    """The per-step loss through Lightning's ``self.log`` on every step (the reference for the test below)."""

    def _log_step(self, loss: torch.Tensor, size: int) -> None:
        self.log("train_loss_step", loss, on_step=True, on_epoch=False, batch_size=size, prog_bar=True)


@pytest.mark.parametrize("every", [1, 2, 3])
def test_the_per_step_loss_reaches_the_loggers_at_the_same_steps_as_when_logged_every_step(
    tmp_path, every: int
) -> None:
    """P7: the step loss given to the loggers directly, on the steps Lightning writes to them: the logged
    series is the same, point for point (steps, values and the ``epoch`` column), as ``self.log`` every step."""
    from lightning.pytorch.loggers import CSVLogger

    generator = torch.Generator().manual_seed(3)
    x = torch.rand(10, 3, 16, 16, generator=generator)
    y = (torch.rand(10, 1, 16, 16, generator=generator) > 0.6).float()
    series = {}
    for cls in (SegmentationModule, EveryStep):
        torch.manual_seed(0)
        module = cls(
            nn.Conv2d(3, 1, 3, padding=1),
            build_loss("DiceLoss", {}),
            optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
            scheduler=lambda opt: None,
        )
        logger = CSVLogger(tmp_path, name=cls.__name__)
        trainer = L.Trainer(
            accelerator="cpu",
            max_epochs=2,
            logger=logger,
            log_every_n_steps=every,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            num_sanity_val_steps=0,
            deterministic=True,
        )
        loader = DataLoader(TensorDataset(x, y), batch_size=2)  # 5 steps an epoch
        trainer.fit(module, loader, loader)
        rows = (Path(logger.log_dir) / "metrics.csv").read_text().splitlines()
        header = rows[0].split(",")
        col, step, epoch = (header.index(k) for k in ("train_loss_step", "step", "epoch"))
        cells = [r.split(",") for r in rows[1:]]
        series[cls] = [(int(c[step]), float(c[col]), int(c[epoch])) for c in cells if c[col]]
    assert series[SegmentationModule] == series[EveryStep]
    assert len(series[EveryStep]) == 10 // every
