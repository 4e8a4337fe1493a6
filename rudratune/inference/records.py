"""The files ``predict`` reads from a source folder, read at the edge into typed objects: an ensemble file
(``EnsembleFile``), a decoding (``read_decoding``), and the checkpoint paths they and ``results.json`` hold,
taken from where the folder is now (``rebased``).

A damaged file is a one-line ``UserError`` naming it and what is wrong, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rudratune.config.load import validate_model
from rudratune.data.preprocess import Decoding
from rudratune.errors import UserError

ENSEMBLE_KIND = "rudratune.ensemble/v1"
REWRITE = "valid: a file that `rudratune export RUN_DIR --ensemble K` wrote (export it again)"


class EnsembleEntry(BaseModel):
    """One member as ``export --ensemble`` writes it (other keys it writes are for people)."""

    model_config = ConfigDict(extra="ignore")
    name: str
    checkpoint: str
    config: dict[str, Any]
    decoding: dict[str, Any]


class EnsembleFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: Literal["rudratune.ensemble/v1"]
    sweep_dir: str | None = None
    tta: bool = False
    members: list[EnsembleEntry] = Field(min_length=1)


def read_ensemble(path: Path) -> EnsembleFile:
    from rudratune.config.load import read_yaml

    try:
        raw = read_yaml(path)
    except UserError as err:  # an empty file, a list, malformed YAML, a !!python tag...
        raise UserError(f"{err}; {REWRITE}") from None
    if raw.get("kind") != ENSEMBLE_KIND:
        raise UserError(f"{path}: not a rudratune ensemble (kind: {ENSEMBLE_KIND})")
    try:
        return validate_model(EnsembleFile, raw, source=f"{path}: damaged ensemble file")
    except UserError as err:
        raise UserError(f"{err}; {REWRITE}") from None


def read_decoding(raw: Any, source: str) -> Decoding:
    """A ``Decoding`` from its JSON text (``decoding.json``) or mapping (an ensemble member's)."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        data["percentiles"] = tuple(data.get("percentiles", (1.0, 99.0)))
        return Decoding(**data)
    except (ValueError, TypeError, AttributeError) as err:
        raise UserError(
            f"{source}: damaged decoding record ({type(err).__name__}); valid: the decoding rudratune wrote "
            "(mode, rule, channels, source_dtype, ...)"
        ) from None


def rebased(path: str | Path, recorded_in: str | Path | None, now_in: Path) -> Path:
    """``path``, recorded under the folder ``recorded_in`` when it was written, under ``now_in``, where that
    folder is read now: a moved or copied sweep uses its own checkpoints, not the original's (or none).
    Other paths are returned as they are."""
    path = Path(path)
    if not recorded_in:
        return path
    try:
        return now_in / path.relative_to(recorded_in)
    except ValueError:
        return path
