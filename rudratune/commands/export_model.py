"""``rudratune export RUN_DIR --onnx PATH`` / ``--register NAME``: the trained network of a sweep's best
trial (or of a ``rudratune train`` run) as ONNX, and its served MLflow pyfunc model in the Model Registry."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rudratune.errors import UserError

SWEEP_RECORD = "sweep.json"  # rudratune.search.record.sweep.RECORD: what makes a folder a sweep's
CHECKPOINT_FILE = "checkpoint.ckpt"  # a trial's kept weights (rudratune.search.driver.trial.CHECKPOINT_FILE)
BestConfig = Callable[..., tuple[dict[str, Any], Path]]


@dataclass
class Trained:
    """The network of RUN_DIR, what serving it needs, and where its tracker records are (if any)."""

    net: Any
    serving: Any
    label: str
    tracking_uri: str | None
    pyfunc_uri: str | None


def _check_onnx_path(path: Path, *, force: bool) -> None:
    if path.suffix != ".onnx":
        raise UserError(f"--onnx: {path} should end in .onnx, e.g. {path.with_suffix('.onnx')}")
    if not path.parent.is_dir():
        raise UserError(f"--onnx: folder {path.parent} does not exist")
    if path.exists() and not force:
        raise UserError(f"--onnx: {path} already exists; pass --force to overwrite it")


def _sweep_run_uri(record: Any) -> tuple[str | None, str | None]:
    """The sweep's MLflow URI and its parent run's served model (``rudratune.pyfunc_uri``), if logged."""
    from rudratune.serve.pyfunc import PYFUNC_URI_TAG
    from rudratune.tracking.common import check_server, find_sweep_run, mlflow_uri, uri_source

    tracking = record.sweep.base.tracking
    if not tracking.mlflow:
        return None, None
    uri = mlflow_uri(tracking, record.output_root)
    check_server(uri, source=uri_source(tracking))  # a server that is down: its client retries for minutes
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(tracking.experiment)
    run = find_sweep_run(client, experiment.experiment_id, record.run_dir) if experiment else None
    return uri, (run.data.tags.get(PYFUNC_URI_TAG) if run else None)


def from_sweep(run_dir: Path, best_config: BestConfig, pick: list[str] | None, trial: str | None) -> Trained:
    """The best (or picked) trial's network from its kept checkpoint."""
    from rudratune.data.source import load_data
    from rudratune.search import load_record
    from rudratune.serve.pyfunc import serving_for
    from rudratune.train.checkpoint import load_trained

    record = load_record(run_dir)
    cfg_dict, _ = best_config(run_dir, pick=pick, trial=trial)
    p = cfg_dict["provenance"]
    checkpoint = Path(p["checkpoint"] or "") / CHECKPOINT_FILE
    if not p["checkpoint"] or not checkpoint.is_file():
        raise UserError(
            f"{run_dir}: trial {p['trial_id']} kept no checkpoint; "
            "keep the best trials' weights with checkpoints.keep_top_trials"
        )
    cfg = record.sweep.trial_config(p["params"], source=f"{record.run_dir} trial {p['trial_id']}")
    data = load_data(cfg.data.root, record.output_root, cfg.data.intensity)
    module = load_trained(cfg, checkpoint, data.channels)
    name = f"{record.name}-{p['trial_id']}"
    tags = {"rudratune.sweep": record.name, "rudratune.trial_id": str(p["trial_id"])}
    serving = serving_for(cfg, data.decoding, data.channels, name=name, tags=tags)
    uri, pyfunc = _sweep_run_uri(record)
    return Trained(module.net, serving, f"sweep {record.name}, trial {p['trial_id']}", uri, pyfunc)


def from_train_run(run_dir: Path) -> Trained:
    """A ``rudratune train`` run's served model, from its MLflow run (the folder keeps no config)."""
    import mlflow
    import mlflow.artifacts
    from mlflow.tracking import MlflowClient

    from rudratune.data import preprocess
    from rudratune.serve import segmenter
    from rudratune.serve.pyfunc import PYFUNC_URI_TAG, Serving
    from rudratune.tracking.common import check_server, mlflow_uri, uri_source

    if not (run_dir / "checkpoints").is_dir() and not (run_dir / "decoding.json").is_file():
        raise UserError(f"{run_dir}: neither a sweep folder nor a `rudratune train` run folder")
    from rudratune.config.schema import TrackingConfig

    uri = mlflow_uri(TrackingConfig(), run_dir.resolve().parent.parent)  # $MLFLOW_TRACKING_URI or the root's
    check_server(uri, source=uri_source(TrackingConfig()))
    store = uri.removeprefix("sqlite:///")
    if store != uri and not Path(store).is_file():
        raise UserError(  # MLflow would make an empty store there (and migrate its schema) to find nothing
            f"{run_dir}: no MLflow store at {store}; set MLFLOW_TRACKING_URI to the store the run logged to "
            "(tracking.mlflow and tracking.log_models must have been on)"
        )
    client = MlflowClient(tracking_uri=uri)
    key = str(run_dir.resolve()).replace("'", "\\'")
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.`rudratune.kind` = 'train' and tags.`rudratune.run_dir` = '{key}'",
        max_results=1,
    )
    pyfunc = runs[0].data.tags.get(PYFUNC_URI_TAG) if runs else None
    if pyfunc is None:
        raise UserError(
            f"{run_dir}: no MLflow run with a served model found in {uri}; "
            "set MLFLOW_TRACKING_URI to the store the run logged to (tracking.mlflow and tracking.log_models "
            "must have been on)"
        )
    mlflow.set_tracking_uri(uri)
    model = client.get_logged_model(pyfunc.split("/")[-1])
    with tempfile.TemporaryDirectory(prefix="rudratune-export-") as tmp:
        # the model's own location: "models:/m-…/artifacts" would read as a registered name and version
        where = f"{model.artifact_location}/artifacts"
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=where, dst_path=tmp))
        settings = json.loads((local / segmenter.SETTINGS_FILE).read_text())
        decoding = preprocess.Decoding.from_json((local / segmenter.DECODING_FILE).read_text())
        net = segmenter.load_network(str(local / segmenter.NETWORK_FILE), settings.get("format", "pt2"))
    serving = Serving(
        decoding,
        int(settings["image_size"]),
        str(settings["normalize"]),
        int(settings["size_multiple"]),
        name=model.name,
        params=dict(model.params),
    )
    return Trained(net, serving, f"train run {run_dir.name}", uri, pyfunc)


def register(trained: Trained, name: str) -> str:
    """Register the served pyfunc model under ``name``; returns ``models:/NAME/VERSION``."""
    if not trained.tracking_uri or not trained.pyfunc_uri:
        raise UserError(
            f"--register: {trained.label} has no served model in MLflow (tracking.mlflow or tracking.log_models "
            "was off, or the run predates it); retrain with tracking.mlflow=true tracking.log_models=true"
        )
    import mlflow

    from rudratune.runtime import quiet_loggers

    mlflow.set_tracking_uri(trained.tracking_uri)
    quiet_loggers()
    try:
        version = mlflow.register_model(trained.pyfunc_uri, name)
    except mlflow.exceptions.MlflowException as err:
        raise UserError(f"--register {name!r}: {str(err).splitlines()[0][:200]}") from None
    return f"models:/{name}/{version.version}"


def run(args: argparse.Namespace, best_config: BestConfig) -> int:
    """``best_config``: ``rudratune.commands.export.best_config`` (which trial; passed in, not imported back)."""
    run_dir = Path(args.run_dir)
    onnx_path = Path(args.onnx).expanduser() if args.onnx else None
    if onnx_path is not None:  # before loading anything: what the user typed, and the extra
        from rudratune.serve.onnx import require

        _check_onnx_path(onnx_path, force=args.force)
        require()
    if args.register is not None and not args.register.strip():
        raise UserError("--register: the model name is empty; valid: e.g. --register pores-unet")
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such folder")
    if (run_dir / SWEEP_RECORD).is_file():
        trained = from_sweep(run_dir, best_config, args.pick, args.trial)
    else:
        if args.pick or args.trial:
            raise UserError(
                f"{run_dir}: --pick and --trial choose a sweep's trial; this is a train run folder"
            )
        trained = from_train_run(run_dir)
    if onnx_path is not None:
        from rudratune.serve.onnx import TOLERANCE, export_onnx

        done = export_onnx(trained.net, trained.serving, onnx_path)
        print(
            f"wrote {onnx_path} (+ .json, .txt) from {trained.label}: {done.exporter} exporter, dynamic height and "
            f"width; ONNX Runtime vs torch max |diff| {done.max_diff:.2g} (<= {TOLERANCE:g})"
        )
    if args.register is not None:
        print(f"registered {trained.label} as {register(trained, args.register.strip())}")
    return 0
