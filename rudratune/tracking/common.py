"""What both trackers share: where MLflow writes, how W&B runs, and which params are safe to log."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from enum import StrEnum
from pathlib import Path
from typing import Any

from rudratune.config.schema import TrackingConfig
from rudratune.errors import UserError
from rudratune.runtime import quiet_loggers

_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|passwd|credential)", re.IGNORECASE)
_URI_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def redact(value: Any) -> Any:
    """Hide credentials inside URIs (``https://user:pass@host`` → ``https://***@host``)."""
    return _URI_CREDENTIALS.sub("***@", value) if isinstance(value, str) else value


def flat_params(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested config into ``a.b`` keys, dropping secret-looking keys and redacting URIs."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if _SECRET_KEY.search(str(key)):
            continue
        if isinstance(value, dict):
            out.update(flat_params(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = redact(value)
    return out


def mlflow_uri(cfg: TrackingConfig, output_root: str | Path) -> str:
    """The configured URI, else ``$MLFLOW_TRACKING_URI``, else a sqlite store under the output root."""
    uri = cfg.mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{(Path(output_root) / 'mlflow.db').resolve()}"


def artifact_location(output_root: str | Path) -> str:
    return (Path(output_root) / "mlartifacts").resolve().as_uri()


def check_server(uri: str, *, timeout: float = 5.0) -> None:
    """Fail fast on an unreachable tracking server (the MLflow client would retry for minutes)."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # it answered: a server is there (some have no /health)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise UserError(f"tracking.mlflow_uri: cannot reach MLflow at {redact(uri)} ({reason})") from None


def ensure_mlflow_experiment(uri: str, name: str, output_root: str | Path) -> str:
    """Create the store and the experiment once, before any run or trial touches them; return its id."""
    check_server(uri)
    # local: `rudratune export` and `train` import this module; mlflow takes seconds and may be off
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    quiet_loggers()
    try:
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = artifact_location(output_root) if uri.startswith("sqlite:") else None
        return client.create_experiment(name, artifact_location=location)
    except MlflowException as err:
        raise UserError(
            f"tracking.mlflow_uri: cannot use MLflow store {redact(uri)}: {_first_line(err)}"
        ) from None
    except Exception as err:  # connection errors of a tracking server come in many types
        raise UserError(
            f"tracking.mlflow_uri: cannot reach MLflow at {redact(uri)}: {type(err).__name__}"
        ) from None


def preflight(cfg: TrackingConfig, output_root: str | Path) -> None:
    """Check the MLflow store (and create it) before a command writes anything else."""
    if cfg.mlflow:
        ensure_mlflow_experiment(mlflow_uri(cfg, output_root), cfg.experiment, output_root)


def find_sweep_run(client: Any, experiment_id: str, run_dir: str | Path) -> Any | None:
    """The newest MLflow parent run of the sweep kept in ``run_dir``, or None."""
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`rudratune.kind` = 'sweep' and tags.`rudratune.run_dir` = '{Path(run_dir).resolve()}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0] if found else None


def wandb_mode(cfg: TrackingConfig) -> str:
    if cfg.wandb_mode != "auto":
        return cfg.wandb_mode
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


class TrialEnding(StrEnum):
    """How a trial ended (``ending`` in results.json); ``reason`` says the same in words."""

    COMPLETED = "completed"
    EARLY_STOPPED = "early_stopped"
    STOPPED_BY_ASHA = "stopped_by_asha"
    FAILED = "failed"


def trial_ending(failed: bool, last_result: dict | None, max_epochs: int) -> TrialEnding:
    last_result = last_result or {}
    if failed:
        return TrialEnding.FAILED
    if int(last_result.get("epoch", 0)) >= max_epochs:
        return TrialEnding.COMPLETED
    return TrialEnding.EARLY_STOPPED if last_result.get("early_stopped") else TrialEnding.STOPPED_BY_ASHA


REASONS = {
    TrialEnding.FAILED: "failed in epoch {next}",
    TrialEnding.COMPLETED: "completed {epoch} epochs",
    TrialEnding.EARLY_STOPPED: "early-stopped (no val_loss progress) at epoch {epoch}",
    TrialEnding.STOPPED_BY_ASHA: "stopped by ASHA at epoch {epoch}",
}


def stop_reason(failed: bool, last_result: dict | None, max_epochs: int) -> str:
    """How a trial ended, in words: completed, stopped early (by whom, at which epoch), or failed."""
    epoch = int((last_result or {}).get("epoch", 0))
    return REASONS[trial_ending(failed, last_result, max_epochs)].format(epoch=epoch, next=epoch + 1)
