"""Log a written report to the sweep's MLflow parent run and to W&B."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rudratune.search.record import SweepRecord


def log_report(record: SweepRecord, page: Path, images: list[Path]) -> None:
    """Log the page and figures to the sweep's MLflow parent run and to a W&B run, as enabled."""
    from rudratune.tracking.common import wandb_mode

    cfg = record.sweep.base_config.tracking
    wandb_on = cfg.wandb and wandb_mode(cfg) != "disabled"
    for enabled, name, log in ((cfg.mlflow, "MLflow", _log_mlflow), (wandb_on, "W&B", _log_wandb)):
        if not enabled:
            continue
        try:
            log(record, page, images)
        except Exception as err:  # the report is on disk already: a tracker that fails costs a warning only
            _warn(f"could not log the report to {name} ({type(err).__name__}: {str(err)[:200]})")


def _log_mlflow(record: SweepRecord, page: Path, images: list[Path]) -> None:
    from mlflow.tracking import MlflowClient

    from rudratune.runtime import quiet_loggers
    from rudratune.tracking.common import mlflow_uri, redact

    cfg = record.sweep.base_config.tracking
    uri = mlflow_uri(cfg, record.output_root)
    client = MlflowClient(tracking_uri=uri)
    quiet_loggers()
    experiment = client.get_experiment_by_name(cfg.experiment)
    run_dir = str(record.run_dir.resolve())
    runs = [] if experiment is None else client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`rudratune.kind` = 'sweep' and tags.`rudratune.run_dir` = '{run_dir}'",
        order_by=["attributes.start_time DESC"],
    )  # fmt: skip
    if not runs:
        _warn(f"no MLflow run of this sweep in {redact(uri)}; the report was not logged there")
        return
    for path in (page, *images):
        client.log_artifact(runs[0].info.run_id, str(path), artifact_path="report")


def _log_wandb(record: SweepRecord, page: Path, images: list[Path]) -> None:
    import wandb

    from rudratune.tracking.common import output_environment, wandb_mode, wandb_settings

    cfg = record.sweep.base_config.tracking
    output_environment(record.output_root)  # staging of the uploaded figures: under the output root
    run = wandb.init(
        project=cfg.wandb_project,
        group=record.name,
        job_type="report",
        name=f"{record.name}-report",
        mode=wandb_mode(cfg),
        dir=str(record.run_dir.resolve()),
        reinit="create_new",
        settings=wandb_settings(),
    )
    run.log(
        {"report": wandb.Html(page.read_text()), **{f"report/{p.stem}": wandb.Image(str(p)) for p in images}}
    )
    run.finish()


def _warn(message: str) -> None:
    print(f"rudratune: warning: {message}", file=sys.stderr)
