"""At the end of a sweep: the best trial's network, logged like ``rudratune train`` logs its own:
an MLflow model (and smp folder) on the sweep's parent run, and a W&B model artifact."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rudratune.tracking.common import warn

if TYPE_CHECKING:
    from rudratune.search.record import SweepRecord


def log_best_model(tracker: Any, record: SweepRecord, best: dict[str, Any]) -> None:
    """Log the best trial's checkpointed network; a failure costs a warning, never the sweep's results."""
    if tracker.parent_run_id is None and tracker.wandb_settings is None:
        return
    try:
        _log(tracker, record, best)
    except Exception as err:  # the results are on disk already
        warn(f"could not log the best trial's model ({type(err).__name__}: {str(err)[:200]})")


def _log(tracker: Any, record: SweepRecord, best: dict[str, Any]) -> None:
    import torch

    from rudratune.data.datamodule import to_tensors
    from rudratune.data.source import load_data
    from rudratune.search.trial import CHECKPOINT_FILE
    from rudratune.tracking.model import log_mlflow, log_wandb, prepare
    from rudratune.train.loop import build_module

    checkpoint = Path(best.get("checkpoint") or "") / CHECKPOINT_FILE
    if not checkpoint.is_file():
        warn(f"trial {best['trial_id']} kept no checkpoint; its model was not logged")
        return
    params = {k: best[k] for k in record.sweep.order if best.get(k) not in (None, "")}
    cfg = record.sweep.trial_config(params, source=f"{record.run_dir} trial {best['trial_id']}")
    module = build_module(cfg)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    data = load_data(cfg.data.root, record.output_root)
    images, _ = to_tensors(data.subset([0, min(1, len(data) - 1)]), cfg.data.image_size, cfg.data.normalize)
    export = prepare(module.net, images)
    model_uri = None
    if tracker.parent_run_id is not None:
        model_uri = log_mlflow(export, uri=tracker.mlflow_uri, run_id=tracker.parent_run_id)
        tracker.client.set_tag(tracker.parent_run_id, "rudratune.best_checkpoint", str(checkpoint))
    if tracker.wandb_settings is not None:
        import wandb

        from rudratune.tracking.common import wandb_settings

        run = wandb.init(
            **tracker.wandb_settings,
            group=record.name,
            job_type="best-model",
            name=f"{record.name}-best",
            config={"trial_id": best["trial_id"], **params},
            reinit="create_new",
            settings=wandb_settings(),
        )
        try:
            run.summary.update(
                {k: best[k] for k in ("best_val_loss", "best_val_dice", "best_epoch") if k in best}
            )
            log_wandb(export, run, name=f"model-{record.name}", model_uri=model_uri)
        finally:
            run.finish()
