"""The Ray a sweep runs on: join a cluster at an address, or start a private local Ray bound to 127.0.0.1
whose session folder is removed when the driver exits and whose processes a watchdog ends if it dies."""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import sys
import tempfile
from pathlib import Path

from rudratune.errors import UserError
from rudratune.runtime import usable_cpus
from rudratune.search.placement.watchdog import remove_folder
from rudratune.signals import ray_starting

RAY_SUBDIR = "r"
"""Ray's own folder inside the private one: Ray makes its temp folder 0777 (from every process it starts), so
the 0700 folder around it is what keeps its logs from other users."""
RAY_TEMP_MAX = 107 - len("/r/session_2026-11-27_17-08-06_186406_99999/sockets/plasma_store")
"""Longest temp folder that leaves room for Ray's session and socket names (AF_UNIX: 107 bytes)."""


def init_ray(address: str | None) -> None:
    """Join a cluster when an address is given; otherwise start a local Ray bound to 127.0.0.1."""
    import ray  # local: `rudratune run` refuses a bad address before paying for ray's import

    if ray.is_initialized():
        return
    common = dict(log_to_driver=False, logging_level="ERROR", configure_logging=True)
    if address:
        check_address(address)
        try:
            with ray_starting():
                ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
            raise UserError(
                f"--address: cannot join the Ray cluster at {address}: {str(err).splitlines()[0][:200]}"
            ) from None
        return
    # address="local": always a new local Ray, never one someone else left running on this machine
    if not os.environ.get("RAY_AUTH_TOKEN_PATH"):  # its token in the environment, not in ~/.ray/auth_token
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    temp_dir = ray_temp_dir()
    with ray_starting():  # a stop signal meanwhile is raised once Ray has started
        ray.init(
            address="local",
            num_cpus=usable_cpus(),
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=None if temp_dir is None else os.path.join(temp_dir, RAY_SUBDIR),
            **common,
        )
    _keep_credentials_out_of_runtime_envs()
    from rudratune.search.placement.watchdog import start_watchdog

    start_watchdog(temp_dir)  # its agents would otherwise outlive a driver killed with kill -9


CREDENTIAL_VARS = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"}
)
"""What Tune copies from the driver's environment into every trainable's runtime env, which Ray's
runtime-env agent then writes, in plain text, to its log (``runtime_env_agent.log``)."""


def _keep_credentials_out_of_runtime_envs() -> None:
    """A local Ray's workers inherit the driver's environment from the raylet it started, so Tune's copy of
    the AWS variables into each trainable's runtime env adds nothing but their appearance in Ray's logs: not
    made. (On a cluster, other nodes may need them: left as Tune does it.)"""
    from ray.tune.execution import class_cache

    class_cache.ENV_VARS_TO_PROPAGATE = set(class_cache.ENV_VARS_TO_PROPAGATE) - CREDENTIAL_VARS


def ray_temp_dir() -> str | None:
    """A private (0700) folder for the local Ray's session (logs, sockets; in its ``RAY_SUBDIR``), removed
    when the driver exits.

    Ray's default, ``/tmp/ray/session_*``, is never removed. ``$RAY_TMPDIR``, when set, wins (and this
    process's temp files stay where the user put them). The folder
    is in the system temp dir, not the output root: Ray's socket paths must stay under 108 bytes.
    """
    global _private
    if _private is not None:
        return _private
    if os.environ.get("RAY_TMPDIR"):
        return None
    path = tempfile.mkdtemp(prefix="rudratune-ray-")
    if len(path) > RAY_TEMP_MAX and Path("/tmp").is_dir():  # a long $TMPDIR: Ray's sockets would not fit
        os.rmdir(path)
        path = tempfile.mkdtemp(prefix="rudratune-ray-", dir="/tmp")

    def remove() -> None:
        if "ray" in sys.modules:  # a command that stopped before Ray started does not import it to exit
            import ray

            ray.shutdown()  # Ray's own exit hook runs after this one: its processes must be gone first
        remove_folder(path, within_s=3.0)  # then the watchdog, once Ray's processes have all gone

    atexit.register(remove)
    # Everything temporary goes in this folder, removed at exit (by the watchdog after a kill -9): Ray's lock
    # files (``_ray_lockfiles``, else left in the system temp dir after every run), and, as the workers
    # inherit it, their checkpoint copies (``rudratune-ckpt-*``) and the driver's W&B temp folders.
    os.environ["RAY_TMPDIR"] = os.environ["TMPDIR"] = path
    tempfile.tempdir = path
    _private = path
    return path


_private: str | None = None
"""This driver's private folder, once made: ``run`` and ``resume`` make it before anything else runs (W&B and
torch make temp folders when they are imported), ``init_ray`` starts Ray in it."""


def check_address(address: str | None) -> None:
    """A quick TCP check of ``host:port`` and ``ray://host:port`` (ray.init would retry for a long time)."""
    if not address:
        return
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():  # ray.init would retry such an address for ~30 s
        raise UserError(f"--address: '{address}' is not auto, host:port or ray://host:port")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as err:
        raise UserError(
            f"--address: cannot reach a Ray cluster at {address} ({err.strerror or err})"
        ) from None
