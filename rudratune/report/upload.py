"""Log a written report to the sweep's MLflow parent run and to W&B."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rudratune.errors import warn
from rudratune.runtime import quiet_loggers
from rudratune.tracking.common import (
    find_sweep_run,
    mlflow_uri,
    output_environment,
    redact,
    wandb_mode,
    wandb_settings,
)

if TYPE_CHECKING:
    from rudratune.search.record import SweepRecord


def log_report(record: SweepRecord, page: Path, images: list[Path]) -> None:
    """Log the page and figures to the sweep's MLflow parent run and to a W&B run, as enabled."""
    cfg = record.sweep.base.tracking
    wandb_on = cfg.wandb and wandb_mode(cfg) != "disabled"
    for enabled, name, log in ((cfg.mlflow, "MLflow", _log_mlflow), (wandb_on, "W&B", _log_wandb)):
        if not enabled:
            continue
        try:
            log(record, page, images)
        except Exception as err:  # the report is on disk already: a tracker that fails costs a warning only
            warn(f"could not log the report to {name} ({type(err).__name__}: {str(err)[:200]})")


def _log_mlflow(record: SweepRecord, page: Path, images: list[Path]) -> None:
    # local: each tracker's library is imported only when it is on
    from mlflow.tracking import MlflowClient

    cfg = record.sweep.base.tracking
    uri = mlflow_uri(cfg, record.output_root)
    client = MlflowClient(tracking_uri=uri)
    quiet_loggers()
    experiment = client.get_experiment_by_name(cfg.experiment)
    run = None if experiment is None else find_sweep_run(client, experiment.experiment_id, record.run_dir)
    if run is None:
        warn(f"no MLflow run of this sweep in {redact(uri)}; the report was not logged there")
        return
    for path in (page, *images):
        client.log_artifact(run.info.run_id, str(path), artifact_path="report")


def _log_wandb(record: SweepRecord, page: Path, images: list[Path]) -> None:
    # local: each tracker's library is imported only when it is on
    import wandb

    cfg = record.sweep.base.tracking
    output_environment(record.output_root)  # staging of the uploaded figures: under the output root
    run = wandb.init(
        project=cfg.wandb_project,
        group=record.name,
        job_type="report",
        name=f"{record.name}-report",
        mode=wandb_mode(cfg),  # type: ignore[arg-type]  # one of W&B's modes (tracking.wandb_mode's type)
        dir=str(record.run_dir.resolve()),
        reinit="create_new",
        settings=wandb_settings(),
    )
    run.log(
        {"report": wandb.Html(page.read_text()), **{f"report/{p.stem}": wandb.Image(str(p)) for p in images}}
    )
    run.finish()
