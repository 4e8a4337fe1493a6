"""Pictures a person looks at after a run: prediction grids and learning curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rudratune.train.metrics import dice_iou


def _plt():
    # local: pick the Agg backend before pyplot is first imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@torch.no_grad()
def prediction_grid(
    net: torch.nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    names: list[str],
    path: Path,
    *,
    title: str,
    display: torch.Tensor | None = None,
    limit: int = 6,
) -> Path:
    """Save rows of (image, ground truth, prediction overlay) with per-image Dice in the titles.

    ``display`` holds the un-normalized images when ``images`` were normalized for the network.
    """
    plt = _plt()
    n = min(limit, len(images))
    net.train(False)
    logits = net(images[:n])
    dice, _ = dice_iou(logits, masks[:n])
    pred = (torch.sigmoid(logits) > 0.5).squeeze(1).numpy()
    shown = (display if display is not None else images)[:n].permute(0, 2, 3, 1).clamp(0, 1).numpy()
    if shown.shape[-1] == 1:  # grey data: shown as grey RGB so that the overlay can colour it
        shown = np.repeat(shown, 3, axis=-1)
    fig, axes = plt.subplots(n, 3, figsize=(7.5, 2.5 * n), squeeze=False)
    for i in range(n):
        truth = masks[i, 0].numpy() > 0.5
        overlay = shown[i].copy()
        overlay[pred[i] & truth] = 0.6 * overlay[pred[i] & truth] + 0.4 * np.array([0.1, 0.9, 0.1])
        overlay[pred[i] & ~truth] = 0.5 * overlay[pred[i] & ~truth] + 0.5 * np.array([1.0, 0.1, 0.1])
        overlay[~pred[i] & truth] = 0.5 * overlay[~pred[i] & truth] + 0.5 * np.array([0.1, 0.3, 1.0])
        for ax, img, label in zip(
            axes[i],
            (shown[i], truth, overlay),
            (names[i], "ground truth", f"prediction, Dice {dice[i]:.3f}"),
            strict=True,
        ):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(label, fontsize=8)
            ax.axis("off")
    fig.suptitle(f"{title} (green: hit, red: false pore, blue: missed pore)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def learning_curves(history: list[dict[str, float]], path: Path, *, title: str = "") -> Path:
    """Plot per-epoch losses and val Dice/IoU from a run's history."""
    plt = _plt()
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in ("train_loss", "val_loss"):
        ax_loss.plot(epochs, [row.get(key, np.nan) for row in history], marker=".", label=key)
    for key in ("val_dice", "val_iou"):
        ax_score.plot(epochs, [row.get(key, np.nan) for row in history], marker=".", label=key)
    for ax, ylabel in ((ax_loss, "loss"), (ax_score, "score")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
