"""Files a finished ``rudratune train`` leaves: prediction grids, learning curves, metrics.json, logged to both
trackers with the trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

from rudratune.data.datamodule import to_tensors
from rudratune.train.figures import learning_curves, prediction_grid

if TYPE_CHECKING:
    from rudratune.config.schema import ExperimentConfig
    from rudratune.data.datamodule import SegDataModule
    from rudratune.train.module import SegmentationModule
    from rudratune.train.types import RunOptions, TrainResult

GRID_ROWS = 6


def write_artifacts(
    cfg: ExperimentConfig,
    module: SegmentationModule,
    datamodule: SegDataModule,
    result: TrainResult,
    options: RunOptions,
) -> list[Path]:
    """Write the run's pictures and metrics under ``run_dir/artifacts`` and log them to every logger."""
    out = options.run_dir / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    net = module.net.cpu()
    paths = []
    for split in ("train", "val", "test"):
        images, masks = datamodule.inputs(split, GRID_ROWS)
        names = datamodule.names(split)
        display = None
        if cfg.data.normalize != "none":
            subset = datamodule.data.subset(datamodule.splits[split][:GRID_ROWS])
            display, _ = to_tensors(subset, cfg.data.image_size)
        paths.append(
            prediction_grid(
                net,
                images,
                masks,
                names,
                out / f"predictions_{split}.png",
                title=f"{cfg.name}: {split} split",
                display=display,
                limit=GRID_ROWS,
            )
        )
    paths.append(learning_curves(result.history, out / "learning_curves.png", title=cfg.name))
    paths.append(write_metrics(result, out / "metrics.json"))
    for logger in options.loggers:
        _log_files(logger, paths)
    if options.loggers:
        from rudratune.serve.pyfunc import serving_for
        from rudratune.tracking.lightning import log_run_end

        images = datamodule.inputs("test", 2)[0]
        data = datamodule.data
        name = options.run_dir.name  # the run's own name, unique per run (and per sweep trial)
        serving = serving_for(cfg, data.decoding, data.channels, name=name, tags={"rudratune.run": name})
        log_run_end(
            options.loggers,
            result.history,
            result.best_checkpoint,
            net,
            images,
            serving,
            log_models=cfg.tracking.log_models,
        )
    return paths


def _log_files(logger: Any, paths: list[Path]) -> None:
    """Pictures and metrics.json; not the checkpoint (it stays in the run folder: the model is logged instead)."""
    if isinstance(logger, MLFlowLogger):
        for path in paths:
            logger.experiment.log_artifact(logger.run_id, str(path), artifact_path="artifacts")
    elif isinstance(logger, WandbLogger):
        # local: wandb is imported only when a W&B logger is on
        import wandb

        from rudratune.tracking.model import staged_in_run

        run = logger.experiment
        run.log({f"artifacts/{p.stem}": wandb.Image(str(p)) for p in paths if p.suffix == ".png"})
        files = wandb.Artifact(f"run-{run.id}-outputs", type="results")
        with staged_in_run(run):  # add_file copies into the staging folder: the run's own
            for path in paths:
                files.add_file(str(path))
        run.log_artifact(files)


def write_metrics(result: TrainResult, path: Path, **extra: Any) -> Path:
    path.write_text(
        json.dumps(
            {
                "test": result.test,
                "best": result.best,
                "best_checkpoint": result.best_checkpoint,
                "torch_threads": result.threads,
                "cost": result.cost,
                "history": result.history,
                **extra,
            },
            indent=2,
        )
    )
    return path
