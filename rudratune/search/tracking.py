"""The sweep's trackers from the driver: the Tune callback, the MLflow experiment and parent run (created last,
right before Tune runs, so that nothing is created for a sweep that fails its checks), and at the end the best
trial's network, logged the way ``rudratune train`` logs its own. Prints nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rudratune.data.source import resolve_root
from rudratune.search.record import SweepRecord
from rudratune.tracking.common import (
    ensure_mlflow_experiment,
    find_sweep_run,
    flat_params,
    mlflow_uri,
    output_environment,
    run_tags,
    uri_source,
    wandb_mode,
    wandb_settings,
)
from rudratune.tracking.dataset import dataset_input, digest
from rudratune.tracking.sweep import SweepTracker
from rudratune.train.cost import COST_KEYS


def build_tracker(record: SweepRecord) -> Any:
    """The driver-side tracker, not yet connected: it writes nothing until ``start_tracking``."""
    cfg = record.sweep.base_config
    output_root = Path(record.output_root)
    uri = mlflow_uri(cfg.tracking, output_root) if cfg.tracking.mlflow else None
    wandb = None
    output_environment(output_root)
    if cfg.tracking.wandb and (mode := wandb_mode(cfg.tracking)) != "disabled":
        wandb = {"project": cfg.tracking.wandb_project, "mode": mode, "dir": str(record.run_dir.resolve())}
    return SweepTracker(
        sweep=record.name,
        mlflow_uri=uri,
        experiment_id=None,
        parent_run_id=None,
        wandb=wandb,
        base_params=flat_params(record.sweep.base_dict),
        max_epochs=record.sweep.max_epochs,
        cost_keys=COST_KEYS,
        metric=record.sweep.settings.metric,
    )


def start_tracking(tracker: Any, record: SweepRecord, data: Any, *, resume: bool) -> None:
    """Create (or reopen) the MLflow experiment and the sweep's parent run: the last step before Tune runs."""
    if tracker.mlflow_uri is None:
        return
    cfg = record.sweep.base_config.tracking
    tracker.experiment_id = ensure_mlflow_experiment(
        tracker.mlflow_uri, cfg.experiment, record.output_root, source=uri_source(cfg)
    )
    # the data's MLflow dataset, on the parent run and (through the tracker) on every trial run
    tracker.dataset_inputs = [dataset_input(root, digest_=d) for root, d in _datasets(record, data)]
    tracker.parent_run_id = _parent_run(
        tracker.mlflow_uri, tracker.experiment_id, record, tracker.dataset_inputs, resume=resume
    )


def _datasets(record: SweepRecord, data: Any) -> list[tuple[Any, str]]:
    """(folder, content digest) of each decoded dataset of the sweep."""
    found = []
    for decoded in data.values() if isinstance(data, dict) else [data] if data is not None else []:
        root = getattr(decoded, "root", None) or resolve_root(record.sweep.base.data.root, record.output_root)
        found.append((root, digest(decoded)))
    return found


def _parent_run(uri: str, experiment_id: str, record: SweepRecord, inputs: list[Any], *, resume: bool) -> str:
    # local: mlflow is imported only when the sweep tracks to it
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run_dir = str(record.run_dir.resolve())
    if resume and (found := find_sweep_run(client, experiment_id, run_dir)):
        parent = found.info.run_id
        for child in client.search_runs(
            [experiment_id],
            filter_string=f"tags.`mlflow.parentRunId` = '{parent}' and attributes.status = 'RUNNING'",
        ):  # the killed attempt's trials: closed now, reopened if Tune resumes them
            client.set_tag(child.info.run_id, "rudratune.status", "driver died; killed")
            client.set_terminated(child.info.run_id, "KILLED")
        client.update_run(parent, status="RUNNING")
        return parent
    settings = record.sweep.settings
    tags = {"rudratune.kind": "sweep", "rudratune.run_dir": run_dir, "rudratune.sweep": record.name}
    run = client.create_run(
        experiment_id, run_name=record.name, tags={**tags, **run_tags(sweep_description(record))}
    )
    if inputs:
        client.log_inputs(run.info.run_id, datasets=inputs)
    params = flat_params(settings.model_dump(mode="json", exclude={"space"}))
    params.update(
        {
            f"space.{k}": json.dumps(p.model_dump(mode="json", exclude_unset=True))
            for k, p in record.sweep.space.items()
        }
    )
    client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    client.log_artifact(run.info.run_id, str(record.run_dir / "sweep.json"))
    return run.info.run_id


def sweep_description(record: SweepRecord) -> str:
    """One line for the parent run's description: what was searched, how, and for what."""
    settings = record.sweep.settings
    search = settings.search
    keys = ", ".join(k for k, p in record.sweep.space.items() if p.kind != "value") or "nothing"
    return (
        f"{search.num_samples} trials of {record.sweep.source.name} ({search.searcher.name} + "
        f"{search.scheduler.name}), {settings.direction} {settings.metric}, varying {keys}"
    )


def finish_parent(tracker: Any, best: dict[str, Any] | None, metric: str, *, status: str) -> None:
    if tracker.client is None or tracker.parent_run_id is None:
        return
    client, run_id = tracker.client, tracker.parent_run_id
    if best:
        for key in {f"best_{metric}", "best_val_dice", "best_val_loss", "best_epoch", *COST_KEYS}:
            if best.get(key) not in (None, ""):  # its score, and its cost beside it
                client.log_metric(run_id, key, float(best[key]))
        client.set_tag(run_id, "rudratune.best_trial", best["trial_id"])
    client.set_terminated(run_id, status)


def log_best_model(tracker: Any, record: SweepRecord, best: dict[str, Any]) -> str | None:
    """Log the best trial's checkpointed network; a failure is a warning to print, never the sweep's end."""
    if tracker.parent_run_id is None and tracker.wandb_settings is None:
        return None
    try:
        return _log_best(tracker, record, best)
    except Exception as err:  # the results are on disk already
        return f"could not log the best trial's model ({type(err).__name__}: {str(err)[:200]})"


def _log_best(tracker: Any, record: SweepRecord, best: dict[str, Any]) -> str | None:
    # local: torch, the data and the model's library load only when a sweep ends with a model to log
    import torch

    from rudratune.data.datamodule import to_tensors
    from rudratune.data.source import load_data
    from rudratune.search.trial import CHECKPOINT_FILE
    from rudratune.tracking.model import log_mlflow, log_wandb, prepare
    from rudratune.train.loop import build_module

    checkpoint = Path(best.get("checkpoint") or "") / CHECKPOINT_FILE
    if not checkpoint.is_file():
        return f"trial {best['trial_id']} kept no checkpoint; its model was not logged"
    params = {k: best[k] for k in record.sweep.order if best.get(k) not in (None, "")}
    cfg = record.sweep.trial_config(params, source=f"{record.run_dir} trial {best['trial_id']}")
    data = load_data(cfg.data.root, record.output_root, cfg.data.intensity)
    module = build_module(cfg, data.channels)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    images, _ = to_tensors(data.subset([0, min(1, len(data) - 1)]), cfg.data.image_size, cfg.data.normalize)
    export = prepare(module.net, images)
    model_uri = None
    if tracker.parent_run_id is not None:
        model_uri = log_mlflow(export, uri=tracker.mlflow_uri, run_id=tracker.parent_run_id)
        tracker.client.set_tag(tracker.parent_run_id, "rudratune.best_checkpoint", str(checkpoint))
    if tracker.wandb_settings is not None:
        import wandb

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
    return None
