"""One driver per sweep: ``rudratune run`` and ``resume`` hold an exclusive lock on the sweep folder while
they drive it, so a second ``resume`` of a sweep that is still running is refused instead of starting a
second Tuner on the same experiment folder (two searchers, two writers of results and checkpoints)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rudratune.errors import UserError


@contextmanager
def driver_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on the sweep folder itself (no lock file to leave behind); the kernel releases
    it when the driver exits, even on ``kill -9``, so an interrupted sweep resumes."""
    fd = os.open(run_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{run_dir}: sweep {run_dir.name} is running (another rudratune process drives it); "
                f"valid: `rudratune show {run_dir}` while it runs, resume after it stopped"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
