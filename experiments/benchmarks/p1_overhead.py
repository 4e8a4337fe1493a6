"""P1 overhead: what rudratune adds on top of plain PyTorch, and what a sweep adds on top of one training.

(a) a hand-written PyTorch loop and (b) rudratune's ``train()`` (in this process, trackers, checkpoints,
test and artifacts off) train the same network, loss, optimizer, batches and epochs with the same torch
thread count; the figure is the ratio of their fastest epochs, the first (warm-up) epoch of every run left
out, with the ratio of medians beside it. The fastest, because other work only ever adds time: with 2 torch
threads on 2 cores a competing process stalls every parallel region (epochs of 0.3 s took 2-8 s here while
other jobs ran), and such stalls hit (a) or (b) by chance. Epochs are timed from the start of one epoch to the start of the next (the last one to the
end of training), so each holds the training batches, the validation pass and whatever runs between.
(a) and (b) alternate A B B A so that a drift in the machine's speed, or a warm-up that outlasts the first
epoch of the first run in this process, hits both alike.

(c) ``rudratune train`` and (d) a 1-trial ``rudratune run`` of the same config are timed end to end as
commands (interpreter start, imports, Ray start, worker imports, trackers, reports: everything).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from common import EXPERIMENT, dataset_root, figure, md_table, rudratune, verdict

FULL_EPOCHS = 5
"""Unet-resnet18 at 128 px on the embedded set (78 train / 25 val images): about 25 s an epoch on 2 quiet cores."""
SMOKE_EPOCHS = 3
"""At 32 px an epoch is a fraction of a second: two timed epochs per run cost next to nothing."""
GOAL_TRAIN, GOAL_SWEEP = 1.05, 1.10


@dataclass(frozen=True)
class Setup:
    overrides: list[str]
    epochs: int
    data_root: str | None
    """None: the embedded dataset under the output root (what ``data.root: null`` means)."""


def setup(smoke: bool, output_root: Path) -> Setup:
    epochs = SMOKE_EPOCHS if smoke else FULL_EPOCHS
    overrides = [
        "name=p1",
        "model.name=smp.Unet",
        "model.encoder=resnet18",
        f"trainer.max_epochs={epochs}",
        f"trainer.early_stopping_patience={epochs}",  # every run trains every epoch
    ]
    if smoke:
        root = str(dataset_root(True, output_root))
        return Setup(
            [*overrides, f"data.root={root}", "data.image_size=32", "data.batch_size=4"], epochs, root
        )
    dataset_root(False, output_root)
    return Setup([*overrides, "data.image_size=128", "data.batch_size=8"], epochs, None)


# --- (a) and (b): time per epoch in this process ------------------------------------------------


@dataclass
class EpochTimes:
    marks: list[float]
    """perf_counter at the start of every epoch, then at the end of training."""
    threads: int

    @property
    def after_warmup(self) -> list[float]:
        return [b - a for a, b in zip(self.marks[:-1], self.marks[1:], strict=False)][1:]


def bare_loop(cfg: Any, data: Any) -> EpochTimes:
    """Plain PyTorch: the same net, loss, Adam + ReduceLROnPlateau, batches and thread count as ``train()``."""
    import random

    import numpy as np
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from rudratune.data.datamodule import to_tensors
    from rudratune.data.split import split_indices
    from rudratune.registry.losses import build_loss
    from rudratune.registry.models import build_model
    from rudratune.runtime import set_threads, usable_cpus
    from rudratune.train.metrics import dice_iou

    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    threads = set_threads(cfg.trainer.threads or usable_cpus())
    torch.use_deterministic_algorithms(
        cfg.trainer.deterministic, warn_only=True
    )  # as train() asks Lightning to

    d = cfg.data
    train_idx, val_idx, _ = split_indices(
        len(data), val_fraction=d.val_fraction, test_fraction=d.test_fraction, seed=cfg.seed
    )

    def loader(indices: list[int], shuffle: bool) -> DataLoader:
        x, y = to_tensors(data.subset(indices), d.image_size, d.normalize)
        return DataLoader(TensorDataset(x, y), batch_size=d.batch_size, shuffle=shuffle, num_workers=0)

    net = build_model(
        cfg.model.name,
        encoder=cfg.model.encoder,
        encoder_weights=cfg.model.encoder_weights,
        image_size=d.image_size,
        in_channels=data.channels,
    )
    train_loader, val_loader = loader(train_idx, True), loader(val_idx, False)
    loss_fn = build_loss(cfg.loss.name, cfg.loss.params)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optimizer.lr, weight_decay=cfg.optimizer.weight_decay)
    s = cfg.scheduler
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=s.factor, patience=s.patience, threshold=s.threshold
    )

    marks = [time.perf_counter()]
    for _ in range(cfg.trainer.max_epochs):
        net.train()
        for x, y in train_loader:
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        net.eval()
        val_loss = val_dice = 0.0
        with torch.inference_mode():  # what Lightning uses for validation
            for x, y in val_loader:
                logits = net(x)
                val_loss += loss_fn(logits, y).item() * len(x)
                val_dice += dice_iou(logits, y)[0].sum().item()
        sched.step(val_loss / len(val_idx))
        marks.append(time.perf_counter())
    return EpochTimes(marks, threads)


def rudratune_train(cfg: Any, data: Any, run_dir: Path) -> EpochTimes:
    """rudratune's ``train()`` with no loggers, checkpoints, test stage or artifacts."""
    import torch
    from lightning.pytorch.callbacks import Callback

    from rudratune.train.loop import RunOptions, train

    class EpochClock(Callback):
        def __init__(self) -> None:
            self.marks: list[float] = []
            self.threads = 0

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self.marks.append(time.perf_counter())
            self.threads = torch.get_num_threads()

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            self.marks.append(time.perf_counter())

    clock = EpochClock()
    options = RunOptions(
        run_dir=run_dir,
        loggers=(),
        checkpoints=False,
        test=False,
        artifacts=False,
        progress=False,
        callbacks=[clock],
    )
    train(cfg, data, options)
    return EpochTimes(clock.marks, clock.threads)


# --- (c) and (d): whole commands -------------------------------------------------------------------


def train_cli(smoke: bool, output_root: Path, s: Setup | None = None) -> dict[str, Any]:
    """(c) ``rudratune train`` end to end; also writes ``p1/train_cli.json``, whose test Dice D0 shows."""
    s = s or setup(smoke, output_root)
    before = set((output_root / "train").glob("p1-*"))
    run = rudratune(
        ["train", str(EXPERIMENT), *s.overrides, "-q"], output_root, output_root / "logs" / "p1_train_cli.log"
    )
    (run_dir,) = set((output_root / "train").glob("p1-*")) - before
    metrics = json.loads((run_dir / "artifacts" / "metrics.json").read_text())
    record = {
        "wall_s": run.wall_s,
        "test": metrics["test"],
        "threads": metrics["torch_threads"],
        "data_root": s.data_root,
        "overrides": s.overrides,
    }
    (output_root / "p1").mkdir(exist_ok=True)
    (output_root / "p1" / "train_cli.json").write_text(json.dumps(record, indent=1))
    return record


def sweep_cli(output_root: Path, s: Setup, loss: str, trials: int = 1) -> float:
    """(d) ``rudratune run`` of a space holding the same experiment, ``trials`` trials one at a time with every
    core (``p1_ten`` runs 10); returns its wall time."""
    from rudratune.runtime import usable_cpus

    space = {
        "experiment": str(EXPERIMENT),
        "search": {
            "num_samples": trials,
            "max_concurrent": 1,
            "searcher": {"name": "optuna", "seed": 42, "n_startup_trials": 1},
            "scheduler": {"name": "fifo"},
        },
        "resources": {"cpu": usable_cpus(), "gpu": 0},  # the trial gets every core, as `rudratune train` does
        "space": {
            "loss.name": {"values": [loss]}
        },  # one choice, the experiment's own: a space needs a parameter
    }
    name = "p1-one-trial" if trials == 1 else f"p1-{trials}-trials"
    path = output_root / "p1" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(space))
    log = output_root / "logs" / ("p1_sweep_cli.log" if trials == 1 else f"{name}.log")
    run = rudratune(["run", str(path), *s.overrides, "--name", name], output_root, log)
    return run.wall_s


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    from rudratune.config.experiment import load_experiment
    from rudratune.data.source import load_data

    s = setup(smoke, output_root)
    cfg = load_experiment(EXPERIMENT, s.overrides)
    data = load_data(cfg.data.root, output_root)
    order = "ab" if smoke else "abba"  # smoke: that it runs, not a timing
    bare: list[EpochTimes] = []
    ours: list[EpochTimes] = []
    for i, which in enumerate(order):
        print(f"  P1 ({which}) round {i + 1}/{len(order)}", file=sys.stderr, flush=True)
        if which == "a":
            bare.append(bare_loop(cfg, data))
        else:
            ours.append(rudratune_train(cfg, data, output_root / "p1" / f"inproc-{i}"))
    a_epochs = [t for r in bare for t in r.after_warmup]
    b_epochs = [t for r in ours for t in r.after_warmup]
    a, b = min(a_epochs), min(b_epochs)
    a_med, b_med = statistics.median(a_epochs), statistics.median(b_epochs)
    print("  P1 (c) rudratune train", file=sys.stderr, flush=True)
    c = train_cli(smoke, output_root, s)["wall_s"]
    print("  P1 (d) rudratune run, 1 trial", file=sys.stderr, flush=True)
    d = sweep_cli(output_root, s, cfg.loss.name)

    ratio_b, ratio_med, ratio_d = b / a, b_med / a_med, d / c
    met_b, met_d = ratio_b <= GOAL_TRAIN, ratio_d <= GOAL_SWEEP
    threads_a, threads_b = bare[0].threads, ours[0].threads
    conditions = (
        f"smp.Unet resnet18, {cfg.data.image_size} px, batch {cfg.data.batch_size}, {s.epochs} epochs, "
        f"{'the tiny 16-pair set' if smoke else 'the embedded 128-pair set'} (loader workers 0), "
        f"{cfg.loss.name}, Adam lr {cfg.optimizer.lr:g} + ReduceLROnPlateau, deterministic algorithms as configured; "
        f"runs in order {'-'.join(order.upper())}; {len(a_epochs)} timed epochs each for (a) and (b)."
    )
    table = md_table(
        ["run", "what", "torch threads", "time"],
        [
            [
                "(a)",
                "bare PyTorch loop",
                threads_a,
                f"fastest {a:.3f} s, median {a_med:.3f} s / epoch (each: {', '.join(f'{t:.2f}' for t in a_epochs)})",
            ],
            [
                "(b)",
                "rudratune `train()`, trackers off",
                threads_b,
                f"fastest {b:.3f} s, median {b_med:.3f} s / epoch (each: {', '.join(f'{t:.2f}' for t in b_epochs)})",
            ],
            ["(c)", "`rudratune train` command", "all usable CPUs", f"{c:.1f} s"],
            ["(d)", "`rudratune run`, 1 trial", "all usable CPUs (trial resources)", f"{d:.1f} s"],
        ],
    )
    return {
        "title": "P1 overhead",
        "conditions": conditions,
        "table": table,
        "figures": [
            figure(
                "P1 train() / bare loop, fastest epoch",
                ratio_b,
                f"{ratio_b:.3f}×",
                goal=f"≤ {GOAL_TRAIN:.2f}×",
                met=met_b,
                meaning=f"An epoch through rudratune's Lightning path takes {ratio_b:.3f}× the time of the hand-written loop "
                f"({b:.3f} s vs {a:.3f} s at best, {threads_b} vs {threads_a} torch threads; medians: {ratio_med:.3f}×): "
                f"{verdict(met_b)} (≤ {GOAL_TRAIN:.2f}×).",
            ),
            figure(
                "P1 1-trial sweep / train command, wall time",
                ratio_d,
                f"{ratio_d:.3f}×",
                goal=f"≤ {GOAL_SWEEP:.2f}×",
                met=met_d,
                meaning=f"Running the same training as a 1-trial sweep (Ray start, worker imports, driver-side trackers) takes "
                f"{ratio_d:.3f}× the wall time of `rudratune train` ({d:.1f} s vs {c:.1f} s): {verdict(met_d)} (≤ {GOAL_SWEEP:.2f}×).",
            ),
        ],
        "raw": {
            "ratio_median": ratio_med,
            "a_epochs": a_epochs,
            "b_epochs": b_epochs,
            "c_s": c,
            "d_s": d,
            "threads": [threads_a, threads_b],
        },
    }
