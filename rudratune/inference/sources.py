"""A SOURCE on the command line to a ``Predictor``: a ``rudratune train`` run folder, a sweep folder (its
ensemble when one was exported, else its best trial that kept weights) or an ensemble file.

Each kind is recognised by the file that defines it (``KINDS``, first match wins)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rudratune.config.load import read_yaml, validate_model
from rudratune.config.schema import ExperimentConfig
from rudratune.data.source import dataset_key, load_data
from rudratune.errors import UserError
from rudratune.inference.members import Member, Predictor
from rudratune.inference.records import read_decoding, read_ensemble, rebased
from rudratune.search.record import RECORD, load_decodings, load_record
from rudratune.search.results import TrialRow, ranked, read_results

RUN_CONFIG = "config.yaml"
"""What ``rudratune train`` writes in its run folder (``commands/train.py``): the resolved experiment."""
ENSEMBLE = "ensemble.yaml"
"""What ``rudratune export RUN_DIR --ensemble K`` writes (in the sweep folder by default)."""
TRIAL_CHECKPOINT = "checkpoint.ckpt"
KEEP = "checkpoints.keep_top_trials"


@dataclass(frozen=True)
class Choice:
    """What to take from a sweep folder: ``auto`` (its ensemble.yaml if there is one, else the best trial),
    ``best`` (the best trial that kept weights, even when an ensemble was exported)."""

    sweep: str = "auto"


def _train_run(path: Path, choice: Choice) -> Predictor:
    cfg_path, decoding_path = path / RUN_CONFIG, path / "decoding.json"
    if not cfg_path.is_file():
        raise UserError(
            f"{path}: no {RUN_CONFIG} (a run of an older rudratune); retrain it with `rudratune train`"
        )
    cfg = validate_model(ExperimentConfig, read_yaml(cfg_path), source=str(cfg_path))
    if not decoding_path.is_file():
        raise UserError(f"{path}: no decoding.json; it cannot say how its images were decoded")
    checkpoint = _run_checkpoint(path)
    member = Member(path.name, cfg, checkpoint, read_decoding(_text(decoding_path), str(decoding_path)))
    return Predictor([member], origin=f"train run {path.name}, checkpoint {checkpoint.name}", roots=(path,))


def _run_checkpoint(path: Path) -> Path:
    """The run's best checkpoint (``artifacts/metrics.json``, taken from this folder's checkpoints: a copied
    run uses its own), else its kept one of lowest val_loss (also when metrics.json is damaged)."""
    try:
        best = json.loads(_text(path / "artifacts" / "metrics.json")).get("best_checkpoint")
    except (UserError, ValueError, AttributeError):
        best = None
    if isinstance(best, str) and (path / "checkpoints" / Path(best).name).is_file():
        return path / "checkpoints" / Path(best).name
    kept = sorted(path.glob("checkpoints/*.ckpt"), key=_val_loss)
    if not kept:
        raise UserError(f"{path}: no checkpoint left in {path / 'checkpoints'}; retrain the run to predict")
    return kept[0]


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read ({type(err).__name__})") from None


def _val_loss(path: Path) -> float:
    found = re.search(r"val_loss(-?[\d.]+)", path.stem)
    return float(found[1].rstrip(".")) if found else float("inf")


def trial_member(record: Any, row: TrialRow) -> Member:
    """A sweep trial as a ``Member``: its config from the record, its decoding from ``decodings.json``
    (or, for a sweep run before that was recorded, from its data folder decoded again)."""
    cfg = record.sweep.trial_config(dict(row.params), source=f"{record.run_dir} trial {row.trial_id}")
    decoding = load_decodings(record.run_dir).get(dataset_key(cfg.data))
    if decoding is None:
        data = load_data(cfg.data.root, record.output_root, cfg.data.intensity)
        if data.decoding is None:
            raise UserError(f"{record.run_dir}: no decodings.json and its data says no decoding")
        decoding = data.decoding
    checkpoint = rebased(row.checkpoint, record.saved_in, Path(record.run_dir).resolve())
    return Member(row.trial_id, cfg, checkpoint / TRIAL_CHECKPOINT, decoding)


def kept_rows(record: Any) -> list[TrialRow]:
    """The sweep's scored trials, best first, that still have their checkpoint file (in the sweep folder as
    it is now: results.json keeps the paths of where the sweep ran)."""
    settings = record.sweep.settings
    rows = ranked(read_results(record.run_dir, record.sweep.order), settings.metric, settings.direction)
    here = Path(record.run_dir).resolve()
    rows = [
        replace(r, checkpoint=str(rebased(r.checkpoint, record.saved_in, here))) for r in rows if r.checkpoint
    ]
    return [r for r in rows if (Path(r.checkpoint) / TRIAL_CHECKPOINT).is_file()]


def no_weights(run_dir: Path, kept: int) -> UserError:
    return UserError(
        f"{run_dir}: no trial of this sweep kept its weights ({KEEP} was {kept}); "
        f"run the sweep with {KEEP}=3 (the default) or more to predict from it"
    )


def _sweep(path: Path, choice: Choice) -> Predictor:
    if choice.sweep == "auto" and (path / ENSEMBLE).is_file():
        return _ensemble(path / ENSEMBLE, choice)
    record = load_record(path)
    rows = kept_rows(record)
    if not rows:
        raise no_weights(path, record.sweep.settings.checkpoints.keep_top_trials)
    member = trial_member(record, rows[0])
    return Predictor([member], origin=f"sweep {record.name}, best trial {member.name}", roots=(path,))


def _ensemble(path: Path, choice: Choice) -> Predictor:
    ensemble = read_ensemble(path)
    # an ensemble in its sweep folder moves and copies with it: its checkpoints are taken from there
    here = path.parent.resolve()
    recorded = ensemble.sweep_dir if (here / RECORD).is_file() else None
    members = []
    for entry in ensemble.members:
        checkpoint = rebased(entry.checkpoint, recorded, here)
        if not checkpoint.is_file():
            raise UserError(f"{path}: member {entry.name}: checkpoint {checkpoint} is gone")
        cfg = validate_model(ExperimentConfig, entry.config, source=f"{path} member {entry.name}")
        decoding = read_decoding(entry.decoding, f"{path} member {entry.name}")
        members.append(Member(entry.name, cfg, checkpoint, decoding))
    roots = tuple(Path(p) for p in (path.parent, ensemble.sweep_dir) if p)
    names = "+".join(m.name for m in members)
    origin = f"ensemble {path} ({names}{', mirror TTA' if ensemble.tta else ''})"
    return Predictor(members, tta=ensemble.tta, origin=origin, roots=roots)


KINDS: dict[str, tuple[Callable[[Path], bool], Callable[[Path, Choice], Predictor]]] = {
    "ensemble file": (lambda p: p.is_file() and p.suffix in (".yaml", ".yml"), _ensemble),
    "sweep folder": (lambda p: (p / RECORD).is_file(), _sweep),
    "train run folder": (lambda p: (p / RUN_CONFIG).is_file() or (p / "checkpoints").is_dir(), _train_run),
}


def load_source(
    source: str | Path, choice: Choice | None = None, *, output_root: str | Path = "runs"
) -> Predictor:
    """The ``Predictor`` a SOURCE names (see ``KINDS``, and MLflow models: ``inference.served``); a
    ``UserError`` naming what it can be otherwise. ``output_root``: where a model URI's default store is."""
    from rudratune.inference.served import is_mlflow_source, load_served

    if is_mlflow_source(source):
        return load_served(source, output_root)
    path = Path(source).expanduser()
    if not path.exists():
        raise UserError(
            f"SOURCE: {path} does not exist; valid: {', '.join(KINDS)}, an MLflow model URI (models:/NAME/1)"
        )
    for test, load in KINDS.values():
        if test(path):
            return load(path, choice or Choice())
    raise UserError(
        f"SOURCE: {path} is none of: a train run folder (with {RUN_CONFIG}), a sweep folder (with {RECORD}), "
        f"an ensemble file ({ENSEMBLE}), an MLflow model (models:/NAME/VERSION, models:/m-ID, a folder "
        "with MLmodel)"
    )
