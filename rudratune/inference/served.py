"""A SOURCE that is an MLflow model rudratune logged (its served pyfunc): a model URI (``models:/NAME/1``,
``models:/NAME@ALIAS``, ``models:/m-ID``: a run's ``rudratune.pyfunc_uri`` tag) or a model folder with an
``MLmodel`` file (``mlflow.pyfunc.save_model``'s, or one downloaded). MLflow 3 keeps logged models apart from
run artifacts, so ``runs:/RUN_ID/pyfunc`` names nothing.

The model predicts as it was logged: its own shipped decoding, resize and network (``serve/segmenter.py``),
the code ``mlflow models serve`` runs, so ``predict`` on a URI gives exactly what a served endpoint gives.
The URI is resolved against ``$MLFLOW_TRACKING_URI`` (and ``$MLFLOW_REGISTRY_URI``), else the sqlite store
under ``--output-root``, where sweeps and ``train`` log by default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rudratune.data.preprocess import Decoding
from rudratune.errors import UserError
from rudratune.inference.members import Predictor

URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")
MLMODEL = "MLmodel"


def is_mlflow_source(source: str | Path) -> bool:
    """A model URI, or a local folder holding an ``MLmodel`` file."""
    text = str(source)
    return text.startswith(URI_SCHEMES) or (Path(text).expanduser() / MLMODEL).is_file()


@dataclass
class ServedPredictor(Predictor):
    """One served model: probabilities come from its own ``Segmenter`` (decoding and resize inside)."""

    segmenter: Any = field(default=None, repr=False)
    decoding: Decoding | None = None

    @property
    def channels(self) -> int:
        assert self.decoding is not None
        return self.decoding.channels

    @property
    def display_decoding(self) -> Decoding:
        assert self.decoding is not None
        return self.decoding

    def probabilities(self, raws: Sequence[np.ndarray], device: Any = None) -> list[np.ndarray]:
        if self.tta:
            raise UserError(
                "--tta: an MLflow model predicts as it was logged (no TTA); predict from the sweep or "
                "ensemble folder for mirror TTA"
            )
        return [np.asarray(p, dtype=np.float32) for p in self.segmenter.probabilities(list(raws), "", True)]

    def describe(self) -> list[dict[str, Any]]:
        settings = dict(self.segmenter.settings)
        return [{"name": self.origin, **settings, "decoding": self.display_decoding.__dict__}]


def load_served(source: str | Path, output_root: str | Path) -> ServedPredictor:
    """The served model ``source`` names, loaded; a one-line ``UserError`` when it cannot be."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from rudratune.runtime import quiet_loggers

    text = str(source)
    local = not text.startswith(URI_SCHEMES)
    uri = str(Path(text).expanduser()) if local else text
    tracking = os.environ.get("MLFLOW_TRACKING_URI") or (
        f"sqlite:///{(Path(output_root) / 'mlflow.db').resolve()}"
    )
    if not local and tracking.startswith("sqlite:///") and not Path(tracking[len("sqlite:///") :]).is_file():
        raise UserError(
            f"SOURCE: {text}: no MLflow store at {tracking}; set MLFLOW_TRACKING_URI to the store the model "
            "was logged to, or pass the --output-root the sweep ran with"
        )
    mlflow.set_tracking_uri(tracking)
    quiet_loggers()
    try:
        model = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise UserError(
            f"SOURCE: {text}: cannot load it from {tracking}: {first}; valid: models:/NAME/VERSION, "
            "models:/NAME@ALIAS, models:/m-ID (a run's rudratune.pyfunc_uri tag), or a model folder"
        ) from None
    try:
        segmenter = model.unwrap_python_model()
    except MlflowException:
        segmenter = None
    if not (hasattr(segmenter, "probabilities") and hasattr(segmenter, "decoding")):
        raise UserError(
            f"SOURCE: {text} is not a model rudratune served (its pyfunc takes raw images); use the run's "
            "served model (its rudratune.pyfunc_uri tag, models:/m-ID) or the one `rudratune export --register` "
            "registered"
        )
    decoding = Decoding.from_json(segmenter.decoding.to_json())  # the shipped module's own class
    name = getattr(model.metadata, "model_id", None) or uri
    roots = (Path(uri),) if local else ()
    return ServedPredictor(
        [], origin=f"MLflow model {text} ({name})", roots=roots, segmenter=segmenter, decoding=decoding
    )
