"""Log (or save) the served model: an MLflow pyfunc whose ``predict`` takes raw images of any size.

The model folder holds ``code/segmenter.py`` and ``code/preprocess.py`` (training's decoding, shipped, not
copied), the models-from-code file, and three artifacts: the network (``network.pt2``, dynamic height and
width), ``decoding.json`` and ``serving.json`` (training size, normalisation, size multiple, format).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from rudratune.data import preprocess
from rudratune.serve import network, segmenter

PYFUNC_NAME = "pyfunc"
PYFUNC_URI_TAG = "rudratune.pyfunc_uri"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Serving:
    """What the served model needs beside the weights: how training decoded, resized and normalised."""

    decoding: preprocess.Decoding
    image_size: int
    normalize: str = "none"
    size_multiple: int = 32
    name: str = PYFUNC_NAME
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def default_decoding(channels: int) -> preprocess.Decoding:
    """Data without a recorded decoding was float32 in [0, 1] already: the ``range`` rule keeps it so."""
    return preprocess.Decoding(mode="dtype", rule="range", channels=channels, source_dtype="float32")


def requirements() -> list[str]:
    """What loading the served model needs: torch, numpy and mlflow, at the versions that logged it."""
    from importlib import metadata

    import torch

    return [
        f"torch=={torch.__version__.split('+')[0]}",
        f"mlflow=={metadata.version('mlflow')}",
        f"numpy=={np.__version__}",
    ]


def signature() -> Any:
    """Only params: images come in any size, type and channel count, which no tensor schema expresses
    (MLflow would refuse a uint16 image against a float schema, or a grey one against a colour one)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    specs = [
        ParamSpec("probabilities", "boolean", False),
        ParamSpec("threshold", "double", 0.5),
        ParamSpec("dtype", "string", ""),
        ParamSpec("resize", "boolean", True),
    ]
    return ModelSignature(params=ParamSchema(specs))


def _stage(net: nn.Module, serving: Serving, folder: Path) -> dict[str, str]:
    """The artifacts in ``folder``: network, decoding and settings."""
    path = folder / segmenter.NETWORK_FILE
    fmt = network.save(
        net, network.examples(serving.decoding.channels, serving.image_size, serving.size_multiple), path
    )
    (folder / segmenter.DECODING_FILE).write_text(serving.decoding.to_json() + "\n")
    settings = {
        "image_size": serving.image_size,
        "normalize": serving.normalize,
        "size_multiple": serving.size_multiple,
        "format": fmt,
    }
    (folder / segmenter.SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")
    return {
        "network": str(path),
        "decoding": str(folder / segmenter.DECODING_FILE),
        "settings": str(folder / segmenter.SETTINGS_FILE),
    }


def _flavor_kwargs(artifacts: dict[str, str]) -> dict[str, Any]:
    return {
        "python_model": str(HERE / "pyfunc_entry.py"),
        "code_paths": [str(HERE / "segmenter.py"), preprocess.__file__],
        "artifacts": artifacts,
        "signature": signature(),
        "pip_requirements": requirements(),
    }


def save_pyfunc(net: nn.Module, serving: Serving, path: Path) -> Path:
    """The served model as a local MLflow model folder (no tracking server)."""
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory(prefix="rudratune-serve-") as tmp:
        mlflow.pyfunc.save_model(str(path), **_flavor_kwargs(_stage(net, serving, Path(tmp))))
    return path


def log_pyfunc(net: nn.Module, serving: Serving, *, uri: str, run_id: str) -> str:
    """Log the served model on an existing run (its status stays the caller's); returns its model URI."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import Model
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    mlflow.set_experiment(experiment_id=client.get_run(run_id).info.experiment_id)
    with tempfile.TemporaryDirectory(prefix="rudratune-serve-") as tmp:
        info = Model.log(
            artifact_path=None,
            name=serving.name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            params={k: str(v) for k, v in serving.params.items()},
            tags=serving.tags,
            **_flavor_kwargs(_stage(net, serving, Path(tmp))),
        )
    client.set_tag(run_id, PYFUNC_URI_TAG, info.model_uri)
    return str(info.model_uri)


PARAM_SECTIONS = ("model.", "optimizer.", "loss.", "data.image_size", "data.normalize", "seed")


def serving_for(
    cfg: Any, decoding: preprocess.Decoding | None, channels: int, *, name: str, tags: dict[str, str]
) -> Serving:
    """The served model of one training (a ``rudratune train`` run or one sweep trial) of ``cfg``: named
    after it and carrying its own hyperparameters (model, optimizer, loss, size, normalisation, seed)."""
    from rudratune.registry.models import get_model_info

    params = {k: v for k, v in _flat(cfg.to_dict(provenance=False)).items() if k.startswith(PARAM_SECTIONS)}
    return Serving(
        decoding=decoding or default_decoding(channels),
        image_size=int(cfg.data.image_size),
        normalize=str(cfg.data.normalize),
        size_multiple=get_model_info(cfg.model.name).size_multiple,
        name=name,
        params=params,
        tags=tags,
    )


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``a.b`` keys of the sections ``PARAM_SECTIONS`` names (none holds a secret), ``None`` dropped."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif value is not None:
            out[f"{prefix}{key}"] = value
    return out
