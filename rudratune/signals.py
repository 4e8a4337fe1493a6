"""SIGTERM (what Kubernetes, Slurm and ``docker stop`` send) handled as Ctrl-C in a sweep's driver.

Python's default SIGTERM ends the process at once, and ``ray.init`` installs its own (``sys.exit(15)``) in the
middle of Tune's work: the driver died by SIGABRT with a native stack dump, its tracker runs left RUNNING.
Here SIGTERM calls whatever handles SIGINT at that moment: Python's default (``KeyboardInterrupt``, before
Tune runs) or Tune's own (it saves the experiment state and returns; a second signal skips that). The
command then exits 143 (128 + 15) instead of 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_TERMINATED: list[int] = []
"""The SIGTERMs this process received (their signal numbers)."""


def _as_interrupt(signum: int, frame: FrameType | None) -> None:
    _TERMINATED.append(signum)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not signal.default_int_handler:
        handler(signal.SIGINT, frame)  # Tune's: it stops the run at its next step, and restores Python's
        return
    raise KeyboardInterrupt


def terminate_as_interrupt() -> None:
    """From now on a SIGTERM is a Ctrl-C (call it again after anything that installs its own, e.g. ray.init)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _as_interrupt)


@contextmanager
def ray_starting() -> Iterator[None]:
    """Around ``ray.init``: its own SIGTERM handler raises ``SystemExit(15)`` meanwhile; made a Ctrl-C here, and
    ours installed again afterwards."""
    try:
        yield
    except SystemExit as exc:
        if exc.code != signal.SIGTERM:
            raise
        _TERMINATED.append(signal.SIGTERM)
        raise KeyboardInterrupt from None
    terminate_as_interrupt()


def terminated() -> bool:
    """Whether a SIGTERM arrived: the command's exit code is then 143, not 130."""
    return bool(_TERMINATED)


def interrupted_code() -> int:
    return 128 + signal.SIGTERM if terminated() else 130
