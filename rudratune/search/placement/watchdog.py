"""A local Ray must not outlive its driver: a small process that kills what the driver started, after it dies.

Ray ties its GCS and raylet to the driver, but not its agents (dashboard agent, runtime-env agent), which
survived a ``kill -9`` of the driver. The watchdog remembers the driver's descendants every second and, when
the driver is gone (its end of a pipe closes), terminates every one of them still alive. Linux only (it reads
``/proc``); elsewhere it does nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

_started: list[subprocess.Popen] = []


def start_watchdog(temp_dir: str | None = None) -> None:
    """Watch this process (once per process); the pipe closes when it exits, however it exits. ``temp_dir``
    (the local Ray's private session folder) is removed once the processes are gone: a driver killed with
    ``kill -9`` runs no exit hook, and left Ray's logs and sockets, W&B's and the trials' temp files there."""
    if _started or not Path("/proc/self/stat").exists():
        return
    _started.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rudratune.search.placement.watchdog",
                str(os.getpid()),
                *filter(None, [temp_dir]),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C or kill of the driver's group leaves it to clean up
        )
    )


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """pid → start time of every process below ``root``."""
    parents: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append(int(entry.name))
            started[int(entry.name)] = stat[1]
    found, todo = {}, list(parents.get(root, []))
    while todo:
        pid = todo.pop()
        found[pid] = started[pid]
        todo.extend(parents.get(pid, []))
    return found


def _alive(known: dict[int, str]) -> dict[int, str]:
    """Those still running as the same process (same start time, so not a reused pid)."""
    return {pid: t for pid, t in known.items() if (s := _stat(pid)) is not None and s[1] == t}


def watch(driver: int, poll_s: float = 1.0, temp_dir: str | None = None) -> None:
    known: dict[int, str] = {}
    while _stat(driver) is not None:
        known = _alive(known) | descendants(driver)
        known.pop(os.getpid(), None)  # the watchdog is the driver's child too
        ready, _, _ = select.select([sys.stdin], [], [], poll_s)
        if ready and not os.read(sys.stdin.fileno(), 1024):
            break  # EOF: the driver has exited
    for sig, wait_s in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0.0)):
        known = _alive(known)
        for pid in known:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while known and time.monotonic() < deadline:
            time.sleep(0.1)
            known = _alive(known)
    if temp_dir:
        remove_folder(temp_dir, within_s=10.0)


def remove_folder(path: str, within_s: float) -> None:
    """``rmtree`` until the folder is gone: a process that is still exiting (a raylet's last log line, a
    worker's checkpoint copy) can write into it while it is removed, and one pass then leaves it behind."""
    deadline = time.monotonic() + within_s
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path) or time.monotonic() >= deadline:
            return
        time.sleep(0.2)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]), temp_dir=sys.argv[2] if len(sys.argv) > 2 else None)
