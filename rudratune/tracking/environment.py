"""Pre-flight checks of what the environment says about the trackers, before a command writes anything:
an MLflow URI of a kind MLflow refuses, and a ``$WANDB_MODE`` that W&B refuses (both used to end after the
run folder was made: one in a multi-sentence MLflow message, the other in a pydantic traceback)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from rudratune.errors import UserError

MLFLOW_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")
"""Tracking URI schemes MLflow has a store for (a database dialect may add a driver: ``mysql+pymysql``)."""
VALID = "sqlite:///<path>.db, http(s)://host:port, postgresql://…, mysql://…, mssql://…"
"""The stores named in the messages."""
WANDB_MODES = ("online", "offline", "disabled", "dryrun", "shared", "run")
"""The values ``wandb.Settings(mode=...)`` takes."""


def check_mlflow_scheme(uri: str, *, source: str, shown: str) -> None:
    """Refuse a URI MLflow has no store for; a plain path or ``file:`` is its file store, which MLflow
    refuses unless ``MLFLOW_ALLOW_FILE_STORE`` is set. ``shown`` is the URI without credentials."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+")[0].lower()
    if uri.lower().startswith("databricks"):  # "databricks", "databricks://profile", "databricks-uc"
        raise UserError(
            f"{source}: '{shown}' is a Databricks workspace, which rudratune does not support (it neither logs in "
            f"nor checks the workspace before a run); valid: {VALID}"
        )
    if scheme == "sqlite" and (parts.path in ("", "/", "/:memory:") or "memory" in parts.query):
        raise UserError(
            f"{source}: '{shown}' is an in-memory database: every process would open its own, empty, and lose it "
            f"at exit; valid: a file, sqlite:///<path>.db"
        )
    if scheme in MLFLOW_SCHEMES:
        return
    if scheme in ("", "file") and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() in ("1", "true"):
        return
    kind = (
        "a file store path, which MLflow refuses"
        if scheme in ("", "file")
        else f"of scheme '{scheme}', which MLflow has no store for"
    )
    raise UserError(
        f"{source}: '{shown}' is {kind}; valid: {VALID} (or MLFLOW_ALLOW_FILE_STORE=true for a file store)"
    )


def check_wandb_mode() -> None:
    """``$WANDB_MODE``, which W&B reads over our settings, must be one W&B takes."""
    mode = os.environ.get("WANDB_MODE")
    if mode is not None and mode not in WANDB_MODES:
        raise UserError(f"$WANDB_MODE: got '{mode}'; valid: {', '.join(WANDB_MODES)} (or unset it)")


WANDB_DEFAULT_URL = "https://api.wandb.ai"
OFFLINE_MODES = ("offline", "disabled", "dryrun")


def check_wandb_server(mode: str, *, timeout: float = 5.0) -> None:
    """An online W&B run whose server cannot be reached: said in seconds (``wandb.init`` retried for about
    110 s, then raised). Any HTTP answer counts as reachable; only a failed connection is refused."""
    if mode != "online" or os.environ.get("WANDB_MODE") in OFFLINE_MODES:
        return
    url = os.environ.get("WANDB_BASE_URL") or WANDB_DEFAULT_URL
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/healthz", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # it answered
    except (urllib.error.URLError, OSError, ValueError) as err:
        why = (
            "$WANDB_API_KEY is set, so W&B runs online"
            if os.environ.get("WANDB_API_KEY")
            else "W&B runs online"
        )
        reason = getattr(err, "reason", err)
        raise UserError(
            f"tracking.wandb_mode: {why}, but W&B at {url} cannot be reached ({reason}); valid: a network that "
            "reaches it, tracking.wandb_mode=offline (then `wandb sync` later), or tracking.wandb=false"
        ) from None
