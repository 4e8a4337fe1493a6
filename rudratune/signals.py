"""Ctrl-C and SIGTERM (what Kubernetes, Slurm and ``docker stop`` send) in a sweep's driver: one behaviour.

Python's default SIGTERM ends the process at once, and ``ray.init`` installs its own (``sys.exit(15)``): the
driver died by SIGABRT with a native stack dump, its tracker runs left RUNNING. Here both signals go through
one handler: before Tune runs it raises ``KeyboardInterrupt``; while Tune runs (``tune_running``), the first
one asks Tune to stop (its own interrupt handler, which Tune also registers for SIGUSR1: it saves the
experiment state and returns) and a second skips that, as a second Ctrl-C does. Tune's own SIGINT handler is
turned off (``TUNE_DISABLE_SIGINT_HANDLER``) so that the driver knows it was interrupted even when every
trial had started (Tune then reports the stopped trials as terminated). The command exits 130 for SIGINT,
143 (128 + 15) for SIGTERM.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_RECEIVED: list[int] = []
"""The interrupting signals this process received, in order."""
_TUNING: list[bool] = []
"""Non-empty while ``tuner.fit()`` runs."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _RECEIVED.append(signum)
    tune_handler = signal.getsignal(signal.SIGUSR1)
    if _TUNING and len(_RECEIVED) == 1 and callable(tune_handler):
        tune_handler(signal.SIGUSR1, frame)  # Tune stops at its next step and saves its state
        return
    raise KeyboardInterrupt


def terminate_as_interrupt() -> None:
    """From now on SIGINT and SIGTERM are handled here (call it again after anything that installs its own
    handlers, e.g. ray.init)."""
    if threading.current_thread() is threading.main_thread():
        os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)


@contextmanager
def tune_running() -> Iterator[None]:
    """Around ``tuner.fit()``: a first signal then stops Tune gracefully instead of interrupting it."""
    _TUNING.append(True)
    try:
        yield
    finally:
        _TUNING.clear()


@contextmanager
def ray_starting() -> Iterator[None]:
    """Around ``ray.init``: its own SIGTERM handler raises ``SystemExit(15)`` meanwhile; made an interrupt
    here, and ours installed again afterwards."""
    try:
        yield
    except SystemExit as exc:
        if exc.code != signal.SIGTERM:
            raise
        _RECEIVED.append(signal.SIGTERM)
        raise KeyboardInterrupt from None
    terminate_as_interrupt()


def interrupted() -> bool:
    """Whether a Ctrl-C or SIGTERM arrived."""
    return bool(_RECEIVED)


def terminated() -> bool:
    """Whether a SIGTERM arrived: the command's exit code is then 143, not 130."""
    return signal.SIGTERM in _RECEIVED


def interrupted_code() -> int:
    return 128 + signal.SIGTERM if terminated() else 130
