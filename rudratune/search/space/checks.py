"""Checks of a search space beyond its schema: value types per key, and warnings about settings that do
nothing (said out loud, never silently clamped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rudratune.config.schema import ExperimentConfig
from rudratune.errors import UserError
from rudratune.search.space.settings import Param, SweepSettings

_KIND_NAMES = {"int": "whole numbers", "float": "numbers", "bool": "true/false", "str": "text"}
_A_KIND = {"int": "a whole number", "float": "a fraction", "bool": "a true/false", "str": "text"}


def _field_type(key: str) -> str | None:
    """``int``, ``float``, ``bool`` or ``str`` for a typed config key; None for literals and loss params."""
    import types
    import typing

    model: Any = ExperimentConfig
    *sections, last = key.split(".")
    for part in sections:
        model = model.model_fields[part].annotation
    field = model.model_fields.get(last)
    if field is None:
        return None
    annotation = field.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), None)
    return annotation.__name__ if annotation in (int, float, bool, str) else None


def _kind(value: Any, expected: str | None) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str) and expected == "float":
        try:
            float(value)  # YAML 1.1 reads 1e-3 as text; pydantic turns it into the number
            return "float"
        except ValueError:
            return "str"
    return "str"


def check_value_types(key: str, param: Param, path: Path) -> None:
    """Refuse values of the wrong or of mixed types (``[2, "3", 4.0, true]``) instead of coercing them."""
    choices = [v for v in (param.choices or []) if v is not None]
    if not choices:
        return
    expected = _field_type(key)
    accepted = {"float": {"int", "float"}}.get(expected or "", {expected})
    for value in choices:
        kind = _kind(value, expected)
        if expected is not None and kind not in accepted:
            raise UserError(
                f"{path}: space.{key}: got {value!r}, {_A_KIND[kind]}; valid: {_KIND_NAMES[expected]} only"
            )
    kinds = {"float" if k == "int" else k for k in (_kind(v, expected) for v in choices)}
    if expected is None and len(kinds) > 1:
        raise UserError(
            f"{path}: space.{key}: values of mixed types {choices!r}; valid: all numbers, all text "
            "or all true/false"
        )


def sweep_warnings(settings: SweepSettings, max_epochs: int) -> list[str]:
    """Suspicious but valid settings, one ``rudratune: warning:`` line each."""
    found = []
    scheduler = settings.search.scheduler
    grace = scheduler.fixed_grace
    if grace is not None and grace >= max_epochs:
        found.append(
            f"search.scheduler.grace_period ({grace}) is not below the most epochs a trial "
            f"runs ({max_epochs}): ASHA can never stop a trial early; lower grace_period or use scheduler fifo"
        )
    return found
