"""Small helpers the commands share."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from rudratune.errors import UserError


def writable_dir(path: str | Path, *, what: str = "--output-root") -> Path:
    """Create ``path`` if needed and check that files can be written there."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{what}: cannot create {path} ({err.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{what}: {path} is not writable")
    return path


def stamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def fmt_metrics(metrics: dict[str, float], keys: tuple[str, ...]) -> str:
    return "  ".join(f"{k} {metrics[k]:.4f}" for k in keys if k in metrics)
