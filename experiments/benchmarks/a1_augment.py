"""A1 augmentation: test Dice of a config with and without the best augmentation an augment sweep found,
at equal epochs, and what augmentation costs per epoch, side by side on this machine.

    python experiments/benchmarks/a1_augment.py --sweep runs/aug --output-root /tmp/a1 [--seeds 42 43]

- The config is the sweep's exported best trial (``rudratune export``: its learning rate and augmentation);
  "without" is the same config with every augmentation probability set to 0. Both train for the sweep's
  ``trainer.max_epochs`` (early stopping off, so the epochs are equal) and are tested on the test split
  at their best-val_loss checkpoint.
- Cost per epoch: one epoch's training batches, in order, through the augmenter alone (median of 5 passes),
  beside the median training-epoch time of the run without augmentation; printed as a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import apply_offline_env, md_table  # noqa: E402


def _configs(sweep: Path) -> tuple[Any, Any]:
    from rudratune.commands.export import best_config
    from rudratune.config.experiment import experiment_from_dict

    cfg, _ = best_config(sweep)
    cfg.pop("provenance")
    cfg["trainer"]["early_stopping_patience"] = 10**6
    cfg["tracking"].update(mlflow=False, wandb=False)
    off = {**cfg, "augment": {name: {**section, "p": 0.0} for name, section in cfg["augment"].items()}}
    return experiment_from_dict(cfg, source="a1 with"), experiment_from_dict(off, source="a1 without")


class EpochTimer:
    """Times each training epoch (a Lightning callback, made lazily so importing this file stays light)."""

    def __new__(cls) -> Any:
        import lightning as L

        class _Timer(L.Callback):
            def __init__(self) -> None:
                self.times: list[float] = []

            def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
                self.start = time.perf_counter()

            def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
                self.times.append(time.perf_counter() - self.start)

        return _Timer()


def _train(cfg: Any, data: Any, run_dir: Path) -> tuple[dict[str, float], list[float]]:
    from rudratune.train.loop import RunOptions, train

    timer = EpochTimer()
    result = train(cfg, data, RunOptions(run_dir=run_dir, artifacts=False, progress=False, callbacks=[timer]))
    return result.test, timer.times


def _augment_seconds_per_epoch(cfg: Any, data: Any) -> float:
    import torch

    from rudratune.data.datamodule import SegDataModule
    from rudratune.train.augment import build_augmenter

    dm = SegDataModule(data, cfg.data, seed=cfg.seed, max_workers=1)
    dm.setup()
    augment = build_augmenter(cfg.augment, image_size=cfg.data.image_size, normalize=cfg.data.normalize)
    batches = list(dm.train_dataloader())
    torch.manual_seed(0)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for x, y in batches:
            augment(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, required=True, help="a finished augment sweep's folder")
    parser.add_argument("--output-root", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    args = parser.parse_args(argv)
    apply_offline_env()

    from rudratune.data.source import load_data

    with_aug, without = _configs(args.sweep)
    data = load_data(with_aug.data.root, args.output_root)
    rows, epoch_times = [], []
    for seed in args.seeds:
        test = {}
        for label, cfg in (("without", without), ("with", with_aug)):
            cfg = cfg.model_copy(update={"seed": seed})
            test[label], times = _train(cfg, data, args.output_root / f"a1-{label}-{seed}")
            if label == "without":
                epoch_times += times[1:]  # the first epoch pays start-up
        rows.append(
            [
                seed,
                f"{test['without']['test_dice']:.4f}",
                f"{test['with']['test_dice']:.4f}",
                f"{test['with']['test_dice'] - test['without']['test_dice']:+.4f}",
            ]
        )
    augment_s = _augment_seconds_per_epoch(with_aug, data)
    epoch_s = statistics.median(epoch_times)
    used = [n for n in type(with_aug.augment).model_fields if getattr(with_aug.augment, n).p > 0]
    print(
        f"config: {with_aug.model.name} {with_aug.model.encoder} at {with_aug.data.image_size} px, "
        f"{with_aug.trainer.max_epochs} epochs, lr {with_aug.optimizer.lr:.3g}; augmentation: {', '.join(used)}"
    )
    print("\n".join(md_table(["seed", "test Dice without", "test Dice with", "difference"], rows)))
    print(
        f"augmentation per epoch: {augment_s * 1000:.0f} ms; training epoch without it: {epoch_s * 1000:.0f} ms "
        f"(median); ratio {augment_s / epoch_s:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
