"""Process-level settings: CPU threads and quiet, network-free defaults for the libraries we drive."""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

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


class Terminated(KeyboardInterrupt):
    """A stop signal (SIGTERM from Kubernetes, Slurm or ``docker stop``; SIGINT from Ctrl-C) as an exception.

    A subclass of ``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` that closes a tracker run KILLED
    handles SIGTERM the same way. ``cli.main`` turns it into one line and exit code ``128 + signum``.
    """

    def __init__(self, signum: int, detail: str = "") -> None:
        super().__init__(signum, detail)
        self.signum, self.detail = signum, detail

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process the signal ended: 143, 130

    def line(self) -> str:
        name = signal.Signals(self.signum).name
        return f"rudratune: stopped by {name}" + (f"; {self.detail}" if self.detail else "")


class StopSignals:
    """Context manager: while active, SIGTERM and SIGINT raise ``Terminated`` in the main thread.

    Only the first signal raises; later ones are noted and ignored, so the closing of tracker runs that the
    first one started is not cut short (a scheduler's SIGKILL still ends the process). The handlers in place
    before are restored on exit. Outside the main thread it does nothing (signals go to the main thread).

    Lightning catches ``KeyboardInterrupt`` inside ``fit`` and raises ``SystemExit(1)`` instead: after
    ``fit``, check ``signum`` (``None`` when no signal came) and re-raise with ``reraise()``.

    Example:
        >>> with StopSignals() as stop:
        ...     try:
        ...         trainer.fit(module)
        ...     except SystemExit:
        ...         stop.reraise()
        ...         raise
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        raise Terminated(signum)

    def reraise(self, detail: str = "") -> None:
        """Raise ``Terminated`` if a signal came (whoever turned it into another exception meanwhile)."""
        if self.signum is not None:
            raise Terminated(self.signum, detail) from None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


DISK_FULL_TEXT = ("database or disk is full", "no space left on device", "disk quota exceeded")
"""How a full disk reads where it is no ``OSError`` any more: sqlite (through SQLAlchemy and MLflow), torch."""


def disk_full(err: BaseException) -> BaseException | None:
    """The ``ENOSPC``/``EDQUOT`` error in ``err``'s chain of causes (or the error whose text says so), or None.

    MLflow wraps sqlite's "database or disk is full" in an ``MlflowException``, Lightning raises its own
    errors from a failed checkpoint write: the first cause that says "full" is what the user needs to hear.
    """
    seen: set[int] = set()
    found: BaseException | None = None
    link: BaseException | None = err
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return link
        if found is None and any(text in str(link).lower() for text in DISK_FULL_TEXT):
            found = link
        link = link.__cause__ or link.__context__
    return found


class DiskReserve:
    """A few MiB written to a hidden file in a folder at the start of a run and freed when the disk fills.

    On a full disk nothing can be recorded, not even a tracker run's end (sqlite needs room for its journal).
    Freeing the reserve first lets the runs be closed FAILED instead of staying RUNNING. Creating it fails with
    ``ENOSPC`` on a disk already (nearly) full, which then is said before anything trains.
    """

    SIZE = 4 << 20

    def __init__(self, folder: Path) -> None:
        self.path = folder / f".rudratune-reserve-{os.getpid()}"

    def __enter__(self) -> DiskReserve:
        try:
            with self.path.open("wb") as f:
                f.write(bytes(self.SIZE))  # written, not truncated: a sparse file reserves nothing
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        """Free the reserve (again: a no-op)."""
        self.path.unlink(missing_ok=True)

    def __exit__(self, *exc: object) -> None:
        self.release()
