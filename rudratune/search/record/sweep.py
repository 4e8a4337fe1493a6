"""What a sweep folder holds about itself (``sweep.json``), so resume, export and report need no other file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rudratune.config.load import validate_model
from rudratune.config.schema import ExperimentConfig
from rudratune.errors import UserError
from rudratune.search.space import Param, Sweep, SweepSettings
from rudratune.train.metrics import METRICS

RECORD = "sweep.json"
STUDY_JOURNAL = "optuna-journal.log"
"""The sweep's Optuna study, in Optuna's journal storage (``optuna-dashboard <sweep>/optuna-journal.log``,
``rudratune.search.record.load_study(run_dir)``). Sweeps before it kept an sqlite ``optuna.db``."""
STUDY_DB = "optuna.db"


def study_storage_of(run_dir: Path) -> Any:
    """The Optuna storage of the sweep in ``run_dir``: its journal, or the sqlite file of an older sweep.

    The journal appends and fsyncs one line per change, as durable as sqlite's commit and, measured in P5,
    several times faster per trial (sqlite rewrote its pages and journal on every reported epoch)."""
    import optuna  # local: optuna loads only where a study is read or written
    from optuna.storages.journal import JournalFileBackend

    run_dir = Path(run_dir).resolve()
    if (run_dir / STUDY_DB).is_file() and not (run_dir / STUDY_JOURNAL).is_file():
        return optuna.storages.get_storage(f"sqlite:///{run_dir / STUDY_DB}")
    return optuna.storages.JournalStorage(JournalFileBackend(str(run_dir / STUDY_JOURNAL)))


def load_study(run_dir: Path, name: str | None = None) -> Any:
    """The sweep's Optuna study as ``optuna.load_study`` reads it (its name: the sweep's)."""
    import optuna

    run_dir = Path(run_dir)
    return optuna.load_study(study_name=name or run_dir.name, storage=study_storage_of(run_dir))


@dataclass(frozen=True)
class SweepRecord:
    name: str
    run_dir: Path
    experiment_path: str
    """Where Ray keeps the experiment (the run dir itself, or a path under --storage)."""
    output_root: str
    sweep: Sweep
    searcher: dict[str, Any] = field(default_factory=dict)
    """The sampler's class, every argument and the Optuna version, as recorded when the sweep started."""
    finished: str | None = None
    """When the sweep ran to its end (UTC, ISO 8601); a finished sweep is not resumed again."""
    saved_in: str = ""
    """The sweep folder's absolute path when sweep.json was last written: ``resume`` tells a moved sweep
    (nothing is there any more) from a copy (the original is still there)."""

    def save(self) -> None:
        from rudratune.tracking.common import redact_tree

        payload = {
            "name": self.name,
            "experiment_path": _relative(self.experiment_path, self.run_dir),
            "output_root": _relative(self.output_root, self.run_dir),
            "saved_in": str(Path(self.run_dir).resolve()),
            "source": str(self.sweep.source),
            "settings": self.sweep.settings.model_dump(mode="json", exclude={"space"}),
            "space": {k: p.model_dump(mode="json", exclude_unset=True) for k, p in self.sweep.space.items()},
            "order": list(self.sweep.order),
            "base": self.sweep.base.to_dict(provenance=False),
            "searcher": self.searcher or searcher_record(self.sweep),
            "objective": objective_record(self.sweep),
            "finished": self.finished,
        }
        payload = redact_tree(payload)  # credentials in URIs and secret-looking keys never reach the disk
        tmp = self.run_dir / f".{RECORD}.tmp"
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(self.run_dir / RECORD)


def load_record(run_dir: str | Path) -> SweepRecord:
    run_dir = Path(run_dir)
    path = run_dir / RECORD
    if not path.is_file():
        raise UserError(f"{run_dir}: not a rudratune sweep folder (no {RECORD})")
    try:
        payload = json.loads(path.read_text())
        settings = SweepSettings.model_validate({**payload["settings"], "space": payload["space"]})
        space = {k: Param.model_validate(v) for k, v in payload["space"].items()}
        base = validate_model(ExperimentConfig, payload["base"], source=str(path))  # checked when written
        sweep = Sweep(Path(payload["source"]), settings, base, space, tuple(payload["order"]))
        return SweepRecord(
            payload["name"],
            run_dir,
            _absolute(payload["experiment_path"], run_dir),
            _absolute(payload["output_root"], run_dir),
            sweep,
            payload.get("searcher") or {},
            payload.get("finished"),
            payload.get("saved_in") or "",
        )
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path}: unreadable sweep record ({type(err).__name__})") from None


def _relative(path: str, run_dir: Path) -> str:
    """A local path as sweep.json keeps it: relative to the sweep folder when it is the folder or its
    output root (the sweep then moves and copies with them); a remote URI or another folder as it is."""
    if "://" in path:
        return path
    here = Path(run_dir).resolve()
    if Path(path) in (here, here.parent):
        return os.path.relpath(path, here)
    return path


def _absolute(path: str, run_dir: Path) -> str:
    """A path read from sweep.json: a relative one is taken from the folder it was read in (older sweeps
    kept absolute paths, read as they are)."""
    if "://" in path or Path(path).is_absolute():
        return path
    return str((Path(run_dir).resolve() / path).resolve())


def mark_finished(record: SweepRecord) -> SweepRecord:
    """Record that the sweep ran to its end, so that a later ``resume`` says so and does nothing."""
    import dataclasses
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    done = dataclasses.replace(record, finished=now)
    done.save()
    return done


def searcher_record(sweep: Sweep) -> dict[str, Any]:
    """The sampler and every argument it is built with, and the Optuna version that builds it."""
    return {**sweep.sampler_args(), "optuna": metadata.version("optuna")}


def objective_record(sweep: Sweep) -> dict[str, Any]:
    """What trials are ranked by, and the definition of every metric they report."""
    settings = sweep.settings
    return {
        "metric": settings.metric,
        "mode": settings.direction,
        "ranked_by": settings.rank_metric,
        "metrics": {name: info.meaning for name, info in METRICS.items()},
    }


def record_for(run_dir: Path, sweep: Sweep, *, storage: str | None, output_root: Path) -> SweepRecord:
    experiment_path = f"{storage.rstrip('/')}/{run_dir.name}" if storage else str(run_dir.resolve())
    return SweepRecord(
        run_dir.name, run_dir, experiment_path, str(output_root.resolve()), sweep, searcher_record(sweep)
    )
