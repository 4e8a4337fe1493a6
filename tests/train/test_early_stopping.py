"""Early stopping is decided before the epoch's reports: a Tune trial's last row says it stopped early."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback

from rudratune.config.experiment import load_experiment
from rudratune.data.folder import load_folder
from rudratune.train.loop import RunOptions, train
from tests.helpers import EXPERIMENT, tiny_overrides

MAX_EPOCHS = 40


class SeesStopping(Callback):
    """What a plain callback (as the trial's reporter is) sees of ``trainer.should_stop`` at each epoch's end."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seen.append(bool(trainer.should_stop))


def test_the_epoch_that_stops_early_says_so_at_its_end(tmp_path: Path, tiny_data: Path) -> None:
    # Lightning calls EarlyStopping's epoch-end hook after every other callback's: checked there, the trial's
    # reporter said "not stopping" on its last epoch, so under ASHA the trial read "stopped by ASHA" (seen in a
    # sweep whose first rung was at epoch 300) and kept no final checkpoint
    overrides = [
        *tiny_overrides(tiny_data),
        *(f"trainer.max_epochs={MAX_EPOCHS}", "trainer.early_stopping_patience=0", "optimizer.lr=3e-2"),
        *("model.name=monai.UNet", "trainer.threads=1", "tracking.mlflow=false", "tracking.wandb=false"),
    ]
    cfg = load_experiment(EXPERIMENT, overrides)
    sees = SeesStopping()
    options = RunOptions(
        run_dir=tmp_path / "run",
        checkpoints=False,
        test=False,
        artifacts=False,
        progress=False,
        callbacks=[sees],
    )
    result = train(cfg, load_folder(tiny_data), options)
    assert len(result.history) < MAX_EPOCHS  # patience 0: the first epoch without a better val_loss stops it
    assert sees.seen == [False] * (len(result.history) - 1) + [True]
