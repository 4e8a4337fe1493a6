"""Process-level settings: CPU threads and quiet, network-free defaults for the libraries we drive."""

from __future__ import annotations

import logging
import os
import warnings

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # its bars land in the sweep's summary
    "RAY_USAGE_STATS_ENABLED": "0",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "RAY_AIR_NEW_OUTPUT": "0",
}
"""What every rudratune process sets unless the user did: no telemetry, quiet libraries."""

OFFLINE_ENV = {
    **QUIET_ENV,
    "WANDB_MODE": "offline",
    "HF_HUB_OFFLINE": "1",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "PYTHONWARNINGS": "ignore",
}
"""The one table of the offline environment the tests and benchmarks run in: no tracker, hub or telemetry
traffic, and Ray on 127.0.0.1 only (see shared/STACK.md)."""

CALLER_ENV = ("WANDB_API_KEY", "MLFLOW_TRACKING_URI", "RUDRATUNE_OUTPUT_ROOT", "RAY_ADDRESS")
"""Variables of the caller's shell that would point a test or benchmark at real services: dropped there."""


def quiet_defaults() -> None:
    """Set environment defaults (never overriding the user's) and silence chatty library logs."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    quiet_loggers()
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def quiet_loggers() -> None:
    """Lightning and MLflow set their log levels on import; call again after importing them."""
    for name in (
        "lightning.pytorch",
        "lightning.fabric",
        "lightning",
        "pytorch_lightning",
        "mlflow",
        "alembic",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (default: every usable CPU) and return the number set."""
    # local: the CLI imports this module for --help and config checks; torch takes seconds
    import torch

    n = threads or usable_cpus()
    torch.set_num_threads(n)
    return n


def gpu_count() -> int:
    """CUDA devices torch can use here (what a local Ray would offer as GPUs)."""
    import torch

    return torch.cuda.device_count()
