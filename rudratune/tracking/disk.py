"""Disk the trackers use for one sweep outside its folder: MLflow's artifact copies under the output root.

W&B's copies (offline runs, staged artifact files) are inside the sweep folder, so the sweep folder's own size
counts them; MLflow keeps the parent run's and each trial's artifacts, and the logged models of those runs,
under ``<output root>/mlartifacts/`` (or wherever the store's artifact location is, when it is local).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


def sweep_tracker_bytes(tracker: Any) -> int:
    """Bytes of the local MLflow artifacts of the sweep's parent run, its trial runs and their logged models.

    ``tracker`` is the sweep's ``SweepTracker`` (its ``mlflow_uri``, ``experiment_id``, ``parent_run_id``);
    0 when MLflow is off or its artifacts are remote. Call it beside ``disk_usage(record.run_dir)``.
    """
    if not (tracker.mlflow_uri and tracker.experiment_id and tracker.parent_run_id):
        return 0
    # local: mlflow is imported only when the sweep tracks to it
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracker.mlflow_uri)
    children = client.search_runs(
        [tracker.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{tracker.parent_run_id}'"
    )
    runs = [client.get_run(tracker.parent_run_id), *children]
    run_ids = {r.info.run_id for r in runs}
    folders = {_local(r.info.artifact_uri) for r in runs}
    for model in client.search_logged_models([tracker.experiment_id]):
        if model.source_run_id in run_ids:
            folders.add(_local(model.artifact_location))
    return sum(_size(folder) for folder in folders if folder is not None)


def _local(uri: str | None) -> Path | None:
    """The local folder of a ``file://`` (or plain path) artifact URI; None for a remote one."""
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return Path(uri) if parts.scheme == "" else None


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
