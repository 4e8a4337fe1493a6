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
import sys
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
    """Around ``ray.init``: a first stop signal meanwhile is held until Ray has started, then raised as
    ``KeyboardInterrupt``; a second one raises at once. An exception raised inside Ray's start can be swallowed
    (a signal that lands in a ``__del__`` is only printed: the sweep went on) or leave its processes half made
    (the driver died by SIGABRT at exit); both were seen. So neither Ray's own SIGTERM handler (``sys.exit``)
    nor, in the driver, its C++ failure-signal handler (which also takes SIGTERM: a stack dump, then SIGABRT
    at exit) is installed; trial workers keep theirs."""
    from ray._private import ray_constants
    from ray._private import utils as ray_utils

    ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True  # read by the driver's CoreWorker at ray.init

    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        _RECEIVED.append(signum)
        held.append(signum)
        if len(held) > 1:
            raise KeyboardInterrupt
        print("rudratune: stopping once Ray has started (again to stop now)", file=sys.stderr, flush=True)

    main = threading.current_thread() is threading.main_thread()
    install = ray_utils.set_sigterm_handler
    ray_utils.set_sigterm_handler = lambda handler: None
    if main:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, hold)
    try:
        yield
    except SystemExit as exc:  # Ray's handler all the same (a Ray that installs it another way)
        if exc.code != signal.SIGTERM:
            raise
        _RECEIVED.append(signal.SIGTERM)
        raise KeyboardInterrupt from None
    finally:
        ray_utils.set_sigterm_handler = install
        terminate_as_interrupt()
    if held:
        raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether a Ctrl-C or SIGTERM arrived."""
    return bool(_RECEIVED)


def terminated() -> bool:
    """Whether a SIGTERM arrived: the command's exit code is then 143, not 130."""
    return signal.SIGTERM in _RECEIVED


def interrupted_code() -> int:
    return 128 + signal.SIGTERM if terminated() else 130
