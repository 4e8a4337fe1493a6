"""The trained network in the trackers: an MLflow model (torch.export, loadable without rudratune),
smp's ``save_pretrained`` folder where the architecture is smp, and an uploaded W&B model artifact."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

MODEL_NAME = "model"
SMP_FOLDER = "smp_model"
MODEL_URI_TAG = "rudratune.model_uri"
DATA_DIR = "WANDB_DATA_DIR"


@dataclass(frozen=True)
class ModelExport:
    """A network in inference mode on the CPU, with the example batch and signature MLflow wants."""

    net: nn.Module
    example: torch.Tensor
    signature: Any

    @property
    def smp(self) -> bool:
        return hasattr(self.net, "save_pretrained")

    def kwargs(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "input_example": self.example.numpy(),
            "pip_requirements": requirements(),
            "serialization_format": "pt2",
        }


def prepare(net: nn.Module, images: torch.Tensor) -> ModelExport:
    """Two example images (a batch of one would freeze the batch size into the exported graph)."""
    net = net.cpu()
    net.train(False)
    example = images[:2].float().cpu()
    if example.shape[0] == 1:
        example = example.repeat(2, 1, 1, 1)
    with torch.no_grad():
        output = net(example)
    return ModelExport(net, example, _signature(example, output))


def requirements() -> list[str]:
    """What loading the exported model needs: torch (pt2 graph) and mlflow to read it."""
    from importlib import metadata

    return [f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={metadata.version('mlflow')}"]


def _signature(example: torch.Tensor, output: torch.Tensor) -> Any:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    def spec(t: torch.Tensor) -> Any:
        return TensorSpec(np.dtype("float32"), (-1, *t.shape[1:]))

    return ModelSignature(inputs=Schema([spec(example)]), outputs=Schema([spec(output)]))


def log_mlflow(
    export: ModelExport,
    *,
    uri: str,
    run_id: str,
    params: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """``mlflow.pytorch.log_model`` on an existing run (no fluent run: its status stays the caller's);
    ``params`` / ``tags``: the logged model's own (a sweep's best trial's, not the sweep's)."""
    import mlflow
    import mlflow.pytorch
    from mlflow.tracking import MlflowClient

    from rudratune.runtime import quiet_loggers

    mlflow.set_tracking_uri(uri)
    quiet_loggers()
    client = MlflowClient(tracking_uri=uri)
    # the logged model is created in the fluent API's current experiment, not the run's: point it there
    mlflow.set_experiment(experiment_id=client.get_run(run_id).info.experiment_id)
    own = {"params": {k: str(v) for k, v in params.items()}} if params else {}
    info = mlflow.pytorch.log_model(
        export.net, name=MODEL_NAME, run_id=run_id, tags=tags, **own, **export.kwargs()
    )
    if export.smp:
        with tempfile.TemporaryDirectory(prefix="rudratune-smp-") as tmp:
            export.net.save_pretrained(tmp)
            client.log_artifacts(run_id, tmp, artifact_path=SMP_FOLDER)
    client.set_tag(run_id, MODEL_URI_TAG, info.model_uri)
    return info.model_uri


@contextmanager
def staged_in_run(wandb_run: Any) -> Iterator[None]:
    """Stage an artifact's files in the run's own ``wandb/`` folder (``wandb/artifact-data/``).

    W&B copies the files into ``$WANDB_DATA_DIR/artifacts/staging`` when they are added, and an offline run
    uploads them from there, by absolute path, at ``wandb sync``: so copying the run or sweep folder keeps
    them. A ``WANDB_DATA_DIR`` the user set wins.
    """
    from rudratune.tracking.common import set_by_user

    if set_by_user(DATA_DIR):
        yield
        return
    before = os.environ.get(DATA_DIR)
    os.environ[DATA_DIR] = str(Path(wandb_run.settings.sync_dir).parent / "artifact-data")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DATA_DIR, None)
        else:
            os.environ[DATA_DIR] = before


def log_wandb(export: ModelExport, wandb_run: Any, *, name: str, model_uri: str | None = None) -> None:
    """Upload the MLflow model folder (and smp's folder) as a W&B ``model`` artifact: files, not a reference."""
    import mlflow
    import mlflow.pytorch
    import wandb

    metadata = {"mlflow_model_uri": model_uri} if model_uri else {}
    artifact = wandb.Artifact(name, type="model", metadata=metadata)
    with tempfile.TemporaryDirectory(prefix="rudratune-model-") as tmp, staged_in_run(wandb_run):
        if model_uri:  # the copy MLflow already has, rather than a second export
            local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        else:
            local = str(Path(tmp) / MODEL_NAME)
            mlflow.pytorch.save_model(export.net, local, **export.kwargs())
        artifact.add_dir(local, name=MODEL_NAME)  # add_dir copies into W&B's staging folder now
        if export.smp:
            export.net.save_pretrained(Path(tmp) / SMP_FOLDER)
            artifact.add_dir(str(Path(tmp) / SMP_FOLDER), name=SMP_FOLDER)
        wandb_run.log_artifact(artifact, aliases=["best"])
