"""What both trackers share: where MLflow writes, how W&B runs, and which params are safe to log."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rudratune.config.schema import TrackingConfig
from rudratune.errors import UserError, warn
from rudratune.runtime import quiet_loggers
from rudratune.tracking.environment import check_mlflow_scheme, check_wandb_mode, check_wandb_server

_SECRET_KEY = re.compile(
    r"(api[_-]?key|token|secret|password|passwd|passphrase|pwd|credential|creds|auth(?!or)|cookie"
    r"|(private|access|signing)[_-]?key|(?<![a-z])session)",  # not "possession"; no config key holds these
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"^\s*((bearer|basic|token)\s+\S|(ghp|gho|ghs|ghu|github_pat|glpat|hf|xox[abprs])[_-]\w{8,}"
    r"|sk-[\w-]{16,}|AKIA[0-9A-Z]{16}$)",
    re.IGNORECASE,
)
"""An HTTP ``Authorization`` value, or a well-known token (GitHub, GitLab, Hugging Face, Slack, OpenAI, an AWS
key id), whatever key holds it."""
_URI_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
REDACTED = "***"
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
"""Opens the experiment in the MLflow 3 UI's model-training view (the UI's own enum value)."""


def redact(value: Any) -> Any:
    """Hide credentials inside URIs (``https://user:pass@host`` → ``https://***@host``)."""
    return _URI_CREDENTIALS.sub(f"{REDACTED}@", value) if isinstance(value, str) else value


def _secret(key: Any, value: Any) -> bool:
    return bool(_SECRET_KEY.search(str(key)) or (isinstance(value, str) and _SECRET_VALUE.match(value)))


def redact_tree(tree: Any) -> Any:
    """A copy of a nested config with URI credentials hidden and secret-looking keys' values masked."""
    if isinstance(tree, dict):
        return {k: REDACTED if _secret(k, v) else redact_tree(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [redact_tree(v) for v in tree]
    return redact(tree)


def flat_params(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested config into ``a.b`` keys, dropping secret-looking keys, ``None`` and URI credentials."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if _secret(key, value) or value is None:
            continue
        if isinstance(value, dict):
            out.update(flat_params(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = redact(value)
    return out


def uri_source(cfg: TrackingConfig) -> str:
    """Where the MLflow URI came from, as a user would name it in an error message."""
    if cfg.mlflow_uri:
        return "tracking.mlflow_uri"
    return "$MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "tracking.mlflow_uri"


def mlflow_uri(cfg: TrackingConfig, output_root: str | Path) -> str:
    """The configured URI, else ``$MLFLOW_TRACKING_URI``, else a sqlite store under the output root.

    Credentials in an ``http(s)://user:pass@host`` URI move to ``MLFLOW_TRACKING_USERNAME`` /
    ``_PASSWORD`` (what MLflow reads), so the URI MLflow keeps and shows holds none.
    """
    uri = cfg.mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return f"sqlite:///{(Path(output_root) / 'mlflow.db').resolve()}"
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.username is not None:
        if parts.username != REDACTED:  # a redacted record's URI: the credentials are in the environment
            os.environ["MLFLOW_TRACKING_USERNAME"] = parts.username
            os.environ["MLFLOW_TRACKING_PASSWORD"] = parts.password or ""
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        uri = urlunsplit(parts._replace(netloc=netloc))
    return uri


def artifact_location(output_root: str | Path) -> str:
    return (Path(output_root) / "mlartifacts").resolve().as_uri()


def _auth_headers() -> dict[str, str]:
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        return {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    return {}


def check_server(uri: str, *, source: str = "tracking.mlflow_uri", timeout: float = 5.0) -> None:
    """Fail fast on an unreachable tracking server (the MLflow client would retry for minutes)."""
    if not uri.startswith(("http://", "https://")):
        return
    request = urllib.request.Request(f"{uri.rstrip('/')}/health", headers=_auth_headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise UserError(
                f"{source}: MLflow at {redact(uri)} refused the credentials (HTTP {err.code}); "
                "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
            ) from None
        return  # it answered: a server is there (some have no /health)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise UserError(f"{source}: cannot reach MLflow at {redact(uri)} ({reason})") from None


def check_store(uri: str, *, source: str) -> None:
    """Pre-flight without writing: a server answers and takes the credentials (a read), a sqlite store's
    folder exists and is writable."""
    check_server(uri, source=source)
    if uri.startswith(("http://", "https://")):
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        except MlflowException as err:
            denied = "401" in str(err) or "403" in str(err) or "PERMISSION_DENIED" in str(err)
            if denied:
                raise UserError(
                    f"{source}: MLflow at {redact(uri)} refused the credentials; "
                    "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or user:password@ in the URI)"
                ) from None
            raise UserError(f"{source}: cannot use MLflow at {redact(uri)}: {_first_line(err)}") from None
    elif uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        folder = path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UserError(
                f"{source}: cannot create the MLflow store {uri}: {folder} is not a writable folder"
            )
        if path.is_file() and path.stat().st_size and _head(path) != SQLITE_HEADER:
            raise UserError(  # a damaged or foreign file: MLflow would fail after the run folder was made
                f"{source}: {path} is not an SQLite database (damaged, or another file); valid: an MLflow "
                "sqlite store, or a path where none exists yet"
            )


SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(len(SQLITE_HEADER))


def ensure_mlflow_experiment(uri: str, name: str, output_root: str | Path, *, source: str = "") -> str:
    """Create the store and the experiment once, before any run or trial touches them; return its id.

    A soft-deleted experiment (deleted in the UI) is restored, with a warning line.
    """
    source = source or "tracking.mlflow_uri"
    check_server(uri, source=source)
    # local: `rudratune export` and `train` import this module; mlflow takes seconds and may be off
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    quiet_loggers()
    try:
        with store_lock(uri):  # two sweeps creating one new mlflow.db: one died in MLflow's schema migration
            return _ensure_experiment(MlflowClient(tracking_uri=uri), name, uri, output_root)
    except MlflowException as err:
        raise UserError(f"{source}: cannot use MLflow store {redact(uri)}: {_first_line(err)}") from None
    except Exception as err:  # connection errors of a tracking server come in many types
        raise UserError(f"{source}: cannot reach MLflow at {redact(uri)}: {type(err).__name__}") from None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Serialise the creation of a sqlite store between processes: ``flock`` on the store's folder (no lock
    file left behind; the kernel drops it when the process dies). A server serialises itself."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    fd = os.open(Path(uri.removeprefix("sqlite:///")).parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _ensure_experiment(client: Any, name: str, uri: str, output_root: str | Path) -> str:
    """Restore a soft-deleted experiment, or create it (and the store); its id."""
    found = client.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
        warn(
            f"tracking.experiment: MLflow experiment '{name}' was deleted; restored it (id {found.experiment_id})"
        )
    if found is not None:
        _rehome(uri, found, output_root)
        if found.tags.get("mlflow.experimentKind") is None:
            client.set_experiment_tag(found.experiment_id, *next(iter(EXPERIMENT_KIND.items())))
        return found.experiment_id
    location = artifact_location(output_root) if uri.startswith("sqlite:") else None
    return str(client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND))


def _rehome(uri: str, experiment: Any, output_root: str | Path) -> None:
    """An output root moved or copied with its ``mlflow.db``: the experiment's and its runs' artifact paths
    still name the old root (a copy wrote its artifacts into the original, a moved root re-created the old
    folder). Pointed at this root's ``mlartifacts`` (MLflow has no API to change them: sqlite, as MLflow
    stores them). Only the default store beside the output root, only paths that were such a root's."""
    new = artifact_location(output_root)
    old = str(experiment.artifact_location)
    store = Path(uri.removeprefix("sqlite:///"))
    if not uri.startswith("sqlite:///") or store.resolve() != (Path(output_root) / "mlflow.db").resolve():
        return
    if old == new or not old.startswith("file://") or not old.endswith("/mlartifacts"):
        return
    import sqlite3

    with contextlib.closing(sqlite3.connect(store)) as db, db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
            (new, experiment.experiment_id),
        )
        db.execute(
            "UPDATE runs SET artifact_uri = ? || substr(artifact_uri, ?) WHERE experiment_id = ? AND artifact_uri LIKE ?",
            (new, len(old) + 1, experiment.experiment_id, old + "/%"),
        )


def preflight(cfg: TrackingConfig, output_root: str | Path) -> None:
    """Check the MLflow store before a command writes anything; writes nothing itself."""
    if cfg.mlflow:
        uri = mlflow_uri(cfg, output_root)
        check_mlflow_scheme(uri, source=uri_source(cfg), shown=redact(uri))
        check_store(uri, source=uri_source(cfg))
    if cfg.wandb:
        check_wandb_mode()
        check_wandb_server(wandb_mode(cfg))
    output_environment(output_root)


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
    """The mode W&B runs open in: W&B's own switches decide under ``auto`` (see ``tracking.wandb_mode``)."""
    from rudratune.tracking.wandb_mode import resolve_wandb_mode

    return resolve_wandb_mode(cfg.wandb_mode)


def output_environment(output_root: str | Path) -> None:
    """Keep W&B's artifact staging, cache and logs under the output root, not in $HOME. Only sets variables
    (those the user set win); creates nothing."""
    home = (Path(output_root) / ".wandb").resolve()
    for key, sub in (
        ("WANDB_DATA_DIR", "data"),
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_ARTIFACT_DIR", "artifacts"),
    ):
        # ours from an earlier run in this process (a notebook's second sweep) follows the new output root
        if os.environ.get(key) in (None, _SET_HERE.get(key)):
            os.environ[key] = _SET_HERE[key] = str(home / sub)


_SET_HERE: dict[str, str] = {}
"""The W&B folders ``output_environment`` set in this process, told apart from the user's own."""


def set_by_user(key: str) -> bool:
    """Whether the user set the W&B folder variable ``key`` (not ``output_environment``)."""
    return os.environ.get(key) not in (None, _SET_HERE.get(key))


def wandb_settings() -> Any:
    """Settings of every W&B run we open: no console capture, no system metrics, no machine metadata.

    The metadata holds ``sys.argv``, where a secret passed on the command line would be stored.
    """
    import wandb

    return wandb.Settings(
        console="off", x_disable_stats=True, x_disable_meta=True, disable_git=True, save_code=False
    )


def git_commit() -> str | None:
    """The commit of the source tree rudratune runs from, if it is a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def run_tags(description: str) -> dict[str, str]:
    """MLflow's description (``mlflow.note.content``) and the git commit, where there is one."""
    tags = {"mlflow.note.content": description}
    if commit := git_commit():
        tags["mlflow.source.git.commit"] = commit
    return tags


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
