"""The report's figures: learning curves with ASHA rungs, parallel coordinates, importance, predictions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rudratune.data.datamodule import SegDataModule, to_tensors
from rudratune.data.source import load_data
from rudratune.search.record import SweepRecord
from rudratune.search.results import TrialRow
from rudratune.search.space import Param
from rudratune.train.checkpoint import load_trained
from rudratune.train.figures import prediction_grid

if TYPE_CHECKING:
    from rudratune.report.importance import Importance

LEGEND_LIMIT = 10
GRID_ROWS = 4
LABEL_BOX = {"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.6}


def _plt() -> Any:
    # local: pick the Agg backend before pyplot is first imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=96, bbox_inches="tight")
    _plt().close(fig)
    return path


def learning_curves(
    histories: dict[str, list[dict[str, float]]],
    asha_stopped: set[str],
    path: Path,
    *,
    rungs: list[int],
    best: str | None,
    max_t: int,
) -> Path:
    """val_loss and val Dice per epoch, one line per trial; ASHA-stopped trials dashed, rungs as dotted lines."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    few = len(histories) <= LEGEND_LIMIT
    for i, (trial_id, rows) in enumerate(histories.items()):
        stopped = trial_id in asha_stopped
        style = {
            "color": f"C{i % 10}" if few else ("0.55" if stopped else "tab:blue"),
            "linestyle": "--" if stopped else "-",
            "alpha": 0.6 if stopped else 0.9,
            "linewidth": 1.2,
            "marker": ".",
        }
        if trial_id == best:
            style.update(color="tab:red" if not few else style["color"], linewidth=2.8, alpha=1.0, zorder=5)
        label = f"{trial_id}{' (ASHA)' if stopped else ''}{' ★ best' if trial_id == best else ''}"
        epochs = [r["epoch"] for r in rows]
        for ax, key in zip(axes, ("val_loss", "val_dice"), strict=True):
            ax.plot(epochs, [r.get(key, math.nan) for r in rows], label=label, **style)
    for ax, key in zip(axes, ("val_loss", "val Dice"), strict=True):
        for rung in rungs:
            ax.axvline(rung, color="black", linestyle=":", linewidth=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_xlim(0.8, max_t + 0.2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    extra = [Line2D([], [], color="black", linestyle=":", label="ASHA rung")] if rungs else []
    if few:
        handles, _ = axes[0].get_legend_handles_labels()
    else:
        handles = [
            Line2D([], [], color="tab:blue", label="completed or early-stopped"),
            Line2D([], [], color="0.55", linestyle="--", label="stopped by ASHA"),
            Line2D([], [], color="tab:red", linewidth=2.8, label=f"best ({best})"),
        ]
    axes[1].legend(handles=handles + extra, fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return _save(fig, path)


def _position(param: Param, value: Any) -> float:
    """Where a value sits on its axis, in [0, 1]."""
    if param.choices is not None:
        labels = [str(c) for c in param.choices]
        index = labels.index(str(value)) if str(value) in labels else 0
        return index / (len(labels) - 1) if len(labels) > 1 else 0.5
    lo, hi, v = float(param.min or 0), float(param.max or 0), float(value)
    if param.dist is not None and param.dist.log:
        lo, hi, v = math.log(lo), math.log(hi), math.log(v)
    return min(max((v - lo) / (hi - lo), 0.0), 1.0)


def _ticks(param: Param) -> list[tuple[float, str]]:
    if param.choices is not None:
        return [(_position(param, c), str(c).removeprefix("smp.")) for c in param.choices]
    lo, hi = float(param.min or 0), float(param.max or 0)
    mid = math.sqrt(lo * hi) if param.dist is not None and param.dist.log else (lo + hi) / 2
    return [(0.0, f"{lo:.3g}"), (0.5, f"{mid:.3g}"), (1.0, f"{hi:.3g}")]


def parallel_coordinates(
    rows: list[TrialRow],
    space: dict[str, Param],
    order: list[str],
    metric: str,
    path: Path,
    *,
    best: str | None,
) -> Path:
    """One line per scored trial across every parameter axis and the metric; an inactive parameter is a gap."""
    plt = _plt()
    scores = np.array([float(r.best[metric]) for r in rows])
    lo, hi = float(scores.min()), float(scores.max())
    span = hi - lo or 1.0
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * (len(order) + 1)), 4.2))
    cmap = plt.get_cmap("viridis_r" if metric.endswith("loss") else "viridis")
    x = np.arange(len(order) + 1)
    for row, score in sorted(zip(rows, scores, strict=True), key=lambda p: p[0].trial_id == best):
        ys = [_position(space[k], row.params[k]) if k in row.params else math.nan for k in order]
        ys.append((score - lo) / span if hi > lo else 0.5)
        is_best = row.trial_id == best
        ax.plot(
            x,
            ys,
            color=cmap((score - lo) / span),
            linewidth=3 if is_best else 1.5,
            marker="o",
            markersize=4,
            alpha=1.0 if is_best else 0.8,
            zorder=3 if is_best else 2,
        )
    for i, k in enumerate(order):
        ax.axvline(i, color="0.3", linewidth=0.8, zorder=1)
        for y, label in _ticks(space[k]):
            ax.text(i + 0.04, y, label, fontsize=7.5, va="center", color="0.15", zorder=4, bbox=LABEL_BOX)
    ax.axvline(len(order), color="0.3", linewidth=0.8, zorder=1)
    for y in (0.0, 0.5, 1.0):
        ax.text(
            len(order) + 0.04,
            y,
            f"{lo + y * (hi - lo):.4g}",
            fontsize=7.5,
            va="center",
            zorder=4,
            bbox=LABEL_BOX,
        )
    ax.set_xticks(x, [*order, metric], fontsize=8.5)
    ax.set_yticks([])
    ax.set_ylim(-0.06, 1.06)
    ax.set_xlim(-0.15, len(order) + 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    bar = fig.colorbar(plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(lo, hi)), ax=ax, pad=0.02)
    bar.set_label(metric)
    fig.tight_layout()
    return _save(fig, path)


def slices(
    rows: list[TrialRow],
    space: dict[str, Param],
    order: list[str],
    metric: str,
    path: Path,
    *,
    best: str | None,
) -> Path:
    """The metric against each parameter, one panel each, over the trials where the parameter is active."""
    plt = _plt()
    cols = min(len(order), 5)
    fig, axes = plt.subplots(
        math.ceil(len(order) / cols),
        cols,
        figsize=(3.1 * cols, 2.7 * math.ceil(len(order) / cols)),
        squeeze=False,
        sharey=True,
    )
    for ax, key in zip(axes.flat, order, strict=False):
        param, active = space[key], [r for r in rows if key in r.params]
        if param.choices is not None:
            labels = [str(c) for c in param.choices]
            xs = [
                labels.index(str(r.params[key])) + 0.06 * (i % 5 - 2)
                if str(r.params[key]) in labels
                else math.nan
                for i, r in enumerate(active)
            ]
            ax.set_xticks(
                range(len(labels)), [t.removeprefix("smp.") for t in labels], fontsize=7, rotation=15
            )
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:
            xs = [float(r.params[key]) for r in active]
            ax.set_xscale("log" if param.dist is not None and param.dist.log else "linear")
            ax.set_xlim(float(param.min or 0), float(param.max or 0))
        for x, row in zip(xs, active, strict=True):
            stopped = row.stopped_by_asha
            marker = (
                {"marker": "*", "s": 160, "color": "tab:red", "zorder": 3}
                if row.trial_id == best
                else {"s": 28, "edgecolors": "tab:blue", "facecolors": "none" if stopped else "tab:blue"}
            )
            ax.scatter([x], [float(row.best[metric])], **marker)
        ax.set_title(f"{key}{' (conditional)' if param.when else ''}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(order) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(metric)
    fig.tight_layout()
    return _save(fig, path)


def importance_plot(found: list[Importance], metric: str, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(found) + 1.4))
    labels = [f"{i.param}{' *' if i.conditional else ''}" for i in found][::-1]
    colors = ["tab:orange" if i.conditional else "tab:blue" for i in found][::-1]
    bars = ax.barh(labels, [i.value for i in found][::-1], color=colors)
    ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"fANOVA importance for {metric}")
    if any(i.conditional for i in found):
        ax.set_title("* conditional: measured only on the trials where it is active", fontsize=9, loc="left")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def best_predictions(
    record: SweepRecord, params: dict[str, Any], checkpoint: Path, path: Path, *, title: str
) -> Path:
    """The trial's weights from its Lightning checkpoint, on the first validation images of its config."""
    cfg = record.sweep.trial_config(params)
    data = load_data(cfg.data.root, record.output_root, cfg.data.intensity)
    splits = SegDataModule(data, cfg.data, seed=cfg.seed).splits
    shown = data.subset(splits["val"][:GRID_ROWS])
    images, masks = to_tensors(shown, cfg.data.image_size, cfg.data.normalize)
    display = to_tensors(shown, cfg.data.image_size)[0] if cfg.data.normalize != "none" else None
    module = load_trained(cfg, checkpoint, data.channels)
    names = list(shown.names)
    return prediction_grid(
        module.net, images, masks, names, path, title=title, display=display, limit=GRID_ROWS
    )
