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

from pathlib import Path

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


def load_served(source: str | Path, output_root: str | Path) -> Predictor:
    """The served model ``source`` names, loaded, as a ``Predictor`` whose ``forward`` is the model's own
    code; a one-line ``UserError`` when it cannot be."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from rudratune.config.schema import TrackingConfig
    from rudratune.runtime import quiet_loggers
    from rudratune.tracking.common import check_server, mlflow_uri, redact

    text = str(source)
    local = not text.startswith(URI_SCHEMES)
    uri = str(Path(text).expanduser()) if local else text
    tracking = mlflow_uri(TrackingConfig(), output_root)  # $MLFLOW_TRACKING_URI, else the root's store
    if not local and tracking.startswith("sqlite:///") and not Path(tracking[len("sqlite:///") :]).is_file():
        raise UserError(
            f"SOURCE: {text}: no MLflow store at {tracking}; set MLFLOW_TRACKING_URI to the store the model "
            "was logged to, or pass the --output-root the sweep ran with"
        )
    if not local:  # a model folder needs no store (and the caller's tracking URI stays as it was)
        # a server that does not answer is said in seconds (the MLflow client retried for minutes)
        check_server(tracking, source="SOURCE: " + text)
        mlflow.set_tracking_uri(tracking)
    quiet_loggers()
    try:
        model = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise UserError(
            f"SOURCE: {text}: cannot load it from {redact(tracking)}: {first}; valid: models:/NAME/VERSION, "
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

    def forward(raws: list[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(p, dtype=np.float32) for p in segmenter.probabilities(raws, "", True)]

    return Predictor(
        [],
        origin=f"MLflow model {text} ({name})",
        roots=roots,
        forward=forward,
        decoding=decoding,
        settings=dict(segmenter.settings),
    )
