"""Small helpers the commands share."""

from __future__ import annotations

import datetime as _dt
import os
import sys
from pathlib import Path
from typing import Any

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


def print_config(config: dict[str, Any], source: str) -> None:
    """The resolved experiment as YAML on stdout (like Hydra's ``--cfg job``), secrets redacted."""
    import yaml

    from rudratune.tracking.common import redact

    config = {**config, "tracking": {**config["tracking"]}}
    config["tracking"]["mlflow_uri"] = redact(config["tracking"]["mlflow_uri"])
    print(f"# resolved from {redact(source)}")
    print(yaml.safe_dump(config, sort_keys=False), end="")


def warn_without_cuda(requested: bool, what: str) -> None:
    """Say out loud that training will run on the CPU although GPUs were asked for (or a driver is here)."""
    driver = Path("/proc/driver/nvidia/version").is_file()
    if not (requested or driver):
        return
    import torch

    if torch.cuda.is_available():
        return
    why = f"{what} asks for GPUs" if requested else "an NVIDIA driver is installed"
    print(
        f"rudratune: warning: {why} but torch.cuda.is_available() is False (torch {torch.__version__}, "
        f"built for CUDA {torch.version.cuda or 'none'}): training runs on the CPU; see README 'Installing'",
        file=sys.stderr,
    )
