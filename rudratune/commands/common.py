"""Small helpers the commands share."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rudratune.errors import UserError

STORAGE_SCHEMES = ("s3", "gs", "gcs", "hdfs", "abfs", "abfss")
"""Remote filesystems Ray Tune's storage (pyarrow.fs) reads; anything else is a local or NFS path."""


_CREATED: list[Path] = []
"""Folders ``writable_dir`` made in this process, outermost first (see ``remove_empty_created``)."""


def writable_dir(path: str | Path, *, what: str = "--output-root") -> Path:
    """Create ``path`` if needed and check, with a real file, that files can be written there.

    ``os.access`` is not enough: as root it says yes to /proc and to read-only mounts.
    """
    if not str(path).strip():  # Path("") is the working directory: an unset variable, most likely
        where = " (or $RUDRATUNE_OUTPUT_ROOT)" if what == "--output-root" else ""
        raise UserError(f"{what}{where}: empty; valid: a folder, e.g. runs (the default)")
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{what}: {path} is a file; valid: a folder (existing or new)")
    package = Path(__file__).resolve().parents[1]
    if path.resolve().is_relative_to(package):
        raise UserError(
            f"{what}: {path} is inside rudratune's own source folder {package}; valid: a folder outside it, "
            "e.g. runs (the default)"
        )
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{what}: cannot create {path} ({err.strerror})") from None
    _CREATED.extend(reversed(missing))
    _probe_write(path, what=what)
    return path


def remove_empty_created() -> None:
    """After a user error: remove the folders ``writable_dir`` made that are still empty, deepest first, so a
    refused input (a bad data folder, found after the output root was made) leaves no empty output root."""
    while _CREATED:
        with contextlib.suppress(OSError):  # not empty (or gone): keep it
            _CREATED.pop().rmdir()


@contextlib.contextmanager
def created_sweep(run_dir: Path) -> Iterator[None]:
    """Around a new sweep's start: a refused input (a bad data folder, an unreachable store) removes the
    folder again while it holds only its records, so the name stays free; an interruption keeps it, with
    the line that resumes it (``resume`` starts a sweep that never reached Tune afresh)."""
    try:
        with resumable(run_dir):
            yield
    except UserError:
        if {p.name for p in run_dir.iterdir()} <= {
            "sweep.json",
            ".sweep.json.tmp",
            "data.json",
            ".data.json.tmp",
        }:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


@contextlib.contextmanager
def resumable(run_dir: Path) -> Iterator[None]:
    """A Ctrl-C or SIGTERM before Tune took over (decoding data, starting Ray) ends the command with the line
    that resumes the sweep and exit 130 or 143, as one during the sweep does; a full disk, with one line and
    exit 1 (the sweep is resumable once space is freed)."""
    try:
        yield
    except KeyboardInterrupt:
        from rudratune.signals import interrupted_code

        print(f"sweep interrupted; continue with: rudratune resume {run_dir}", file=sys.stderr)
        raise SystemExit(interrupted_code()) from None
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        where = f" writing {err.filename}" if err.filename else ""
        print(
            f"rudratune: error: {run_dir}: no space left on device{where}; free some, then continue with: "
            f"rudratune resume {run_dir}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def _probe_write(path: Path, *, what: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".rudratune-write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(f"{what}: cannot write in {path} ({err.strerror or type(err).__name__})") from None


def check_storage(storage: str | None, *, what: str = "--storage", base: Path | None = None) -> str | None:
    """Ray's storage as an absolute path or a remote URI, checked before anything is created.

    A relative path is taken from ``base`` (default: the working directory) and made absolute, since Ray
    reads it from other processes and folders.
    """
    if not storage:
        return None
    scheme, sep, rest = storage.partition("://")
    if sep and scheme.lower() in STORAGE_SCHEMES:
        if not rest.strip("/"):
            raise UserError(f"{what}: '{storage}' names no bucket or host")
        return storage
    if sep and scheme.lower() != "file":
        raise UserError(
            f"{what}: unsupported scheme '{scheme}://'; valid: a local or NFS path, file://, "
            + ", ".join(f"{s}://" for s in STORAGE_SCHEMES)
        )
    path = Path(rest if sep else storage).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    path = path.resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"{what}: {existing} is a file, not a folder")
    _probe_write(existing, what=what)  # Ray creates the folder itself, after every other check
    return str(path)


def unique_dir(parent: Path, name: str) -> Path:
    """Create and return ``parent/name``, or ``name-2``, ``name-3``… when that is taken (atomic mkdir)."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = parent / (name if n == 1 else f"{name}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise UserError(f"{parent}: 999 run folders named {name}-N already exist")


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
