"""Which Ray to join: ``--address auto`` resolved here, so that it never joins a stranger's local Ray."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rudratune.errors import UserError

START_OWN = (
    "start one with `ray start --head` and pass its host:port, or leave out --address for a private Ray"
)


def local_raylets() -> set[str]:
    """The GCS addresses of every raylet running on this machine, whoever started it (Linux: /proc)."""
    found: set[str] = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if cmdline and os.path.basename(cmdline[0]) == "raylet":
            found.update(a.split("=", 1)[1] for a in cmdline if a.startswith("--gcs-address="))
    return found


def ray_address_file() -> Path:
    """Where ``ray start`` records its cluster (as Ray's ``get_ray_address_file(None)``, without importing ray)."""
    tmp = os.environ.get("RAY_TMPDIR") or (
        os.environ.get("TMPDIR") if sys.platform.startswith("linux") else None
    )
    return Path(tmp or "/tmp") / "ray" / "ray_current_cluster"


def resolve_address(address: str | None) -> str | None:
    """``auto`` → the ``host:port`` of the Ray this user started with ``ray start``; others unchanged.

    Ray's own ``auto`` falls back to any local cluster it finds (another user's sweep included) and then
    retries for ever. Here ``auto`` takes ``$RAY_ADDRESS`` if set, else the cluster that ``ray start``
    recorded in Ray's temp dir, if this user owns that record and the cluster still runs; otherwise it fails
    in one line. A local Ray that a rudratune driver started belongs to that sweep and is never joined.
    """
    if address != "auto":
        return address
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env != "auto":
        return env
    record = ray_address_file()
    running = local_raylets()
    if record.is_file():
        recorded = record.read_text().strip()
        if record.stat().st_uid != os.getuid():
            raise UserError(
                f"--address auto: the Ray recorded in {record} ({recorded}) belongs to another user; {START_OWN}"
            )
        if recorded in running:
            return recorded
        raise UserError(
            f"--address auto: the Ray recorded in {record} ({recorded}) no longer runs; {START_OWN}"
        )
    if running:
        raise UserError(
            f"--address auto: the {len(running)} Ray instance(s) running here belong to other sweeps or users "
            f"(none was started with `ray start`); {START_OWN}"
        )
    raise UserError(f"--address auto: no Ray cluster runs on this machine; {START_OWN}")
