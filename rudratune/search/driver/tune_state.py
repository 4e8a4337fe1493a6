"""Tune's experiment state, kept whole (issue 21 item 3).

Tune writes its state (``experiment_state-*.json``, the search generator's and the searcher's pickles) in a
staging folder inside Ray's session folder, then copies the files over the sweep folder's with plain writes.
A full disk, or a kill during the copy, leaves them cut short; ``Tuner.restore`` then fails to read them, and
Tune logs it and restarts the experiment from nothing without a word (a resume that "works" and trains new
trials beside the old). So each time Tune saves, the driver also keeps the staged files, whole and from the
same save, in ``.tune-state/<n>/`` of the sweep folder: written under a temporary name and renamed, so a set
is complete or absent. Before a resume, files that do not read are replaced by the newest set.
"""

from __future__ import annotations

import json
import pickletools
import shutil
from pathlib import Path

from rudratune.errors import UserError

KEPT = ".tune-state"
STATE_FILES = ("experiment_state-*.json", "search_gen_state-*.json", "searcher-state-*.pkl")


def keep(staging: Path, experiment_dir: Path) -> Path | None:
    """Copy the state Tune just staged into a new complete set under ``experiment_dir/.tune-state``; older
    sets go once it is in place. Returns the set, or None where nothing was staged or the copy failed (a full
    disk: the previous set stays, and so does the sweep)."""
    files = [p for pattern in STATE_FILES for p in staging.glob(pattern)]
    if not any(p.name.startswith("experiment_state-") for p in files):
        return None
    root = experiment_dir / KEPT
    older = _sets(root)
    number = (int(older[-1].name) + 1) if older else 1
    partial = root / f".partial-{number:06d}"
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copyfile(path, partial / path.name)
        done = partial.rename(root / f"{number:06d}")
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return None
    for old in older:
        shutil.rmtree(old, ignore_errors=True)
    return done


def keep_staged(experiment_path: str) -> None:
    """``keep`` for this driver's experiment, called from Tune's save (``DriverCallbacks.get_state``). Cloud
    storage is left to its own writes (they are whole objects); nothing here may fail the sweep."""
    if "://" in experiment_path:
        return
    try:
        from ray._private import worker

        session = Path(worker._global_node.get_session_dir_path())
        staging = staging_dir(session, Path(experiment_path).name)
        if staging is not None:
            keep(staging, Path(experiment_path))
    except Exception:  # the state Tune saved is still there; only this copy of it is not
        return


def staging_dir(session_dir: Path, experiment_name: str) -> Path | None:
    """The driver's staging folder of this experiment in Ray's session folder (Tune's
    ``StorageContext.experiment_driver_staging_path``): the one Tune wrote last."""
    found = list(session_dir.glob(f"artifacts/*/{experiment_name}/driver_artifacts"))
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def recover(experiment_dir: Path) -> str | None:
    """Before ``Tuner.restore``: where a state file does not read (cut short), put the newest complete set in
    place of all of them. Returns the line to say, or None where the files read. Raises UserError where a file
    is damaged and no complete set was kept."""
    damaged = [p for pattern in STATE_FILES for p in experiment_dir.glob(pattern) if not _reads(p)]
    if not damaged:
        return None
    sets = _sets(experiment_dir / KEPT)
    names = ", ".join(p.name for p in damaged)
    if not sets:
        raise UserError(
            f"{experiment_dir}: Tune's state is cut short ({names}; a full disk or a kill while it was "
            f"written) and no complete copy was kept; start the sweep again under another --name"
        )
    for pattern in STATE_FILES:  # the whole set, so the files agree with each other
        for path in experiment_dir.glob(pattern):
            path.unlink()
    for path in sets[-1].iterdir():
        tmp = experiment_dir / f".{path.name}.restoring"
        shutil.copyfile(path, tmp)
        tmp.replace(experiment_dir / path.name)
    return (
        f"Tune's state in {experiment_dir} was cut short ({names}; a full disk or a kill while it was "
        f"written): resuming from its last complete save; trials started after it start again"
    )


def _sets(root: Path) -> list[Path]:
    return sorted((p for p in root.glob("[0-9]*") if p.is_dir() and p.name.isdigit()), key=lambda p: p.name)


def _reads(path: Path) -> bool:
    try:
        data = path.read_bytes()
        if path.suffix == ".json" and path.name.startswith("experiment_state-"):
            json.loads(data)
        else:  # the search generator's "json" is a pickle too: read to its STOP, nothing built or imported
            *_, (last, _, _) = pickletools.genops(data)
            if last.name != "STOP":
                return False
    except Exception:
        return False
    return True
