"""Load an experiment YAML (+ overrides) into a validated ``ExperimentConfig``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rudratune.config.load import apply_overrides, read_yaml, validate_model
from rudratune.config.schema import ExperimentConfig
from rudratune.errors import UserError


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read, override and validate an experiment config; every mistake is a one-line UserError."""
    data = apply_overrides(read_experiment(path), list(overrides or []), source=f"{path} (command line)")
    return experiment_from_dict(data, source=str(path))


def read_experiment(path: str | Path) -> dict[str, Any]:
    """An experiment YAML as a dict, a relative ``data.root`` taken from the file's folder (like a space's
    ``experiment:`` and ``storage:``); an override on the command line stays relative to the working directory."""
    data = read_yaml(path)
    section = data.get("data")
    if isinstance(section, dict) and "root" in section:
        data = {**data, "data": {**section, "root": root_from_file(section["root"], Path(path))}}
    return data


def root_from_file(root: Any, path: Path) -> Any:
    """``root`` as written in the YAML ``path``: a relative folder joined to the file's folder."""
    if not isinstance(root, str) or not root.strip() or "://" in root:
        return root
    folder = Path(root).expanduser()
    return root if folder.is_absolute() else os.path.abspath(path.parent / folder)  # links kept, as named


def space_root_from_file(entry: dict[str, Any], path: Path) -> dict[str, Any]:
    """A space's ``data.root: {value: …}`` (or ``values``/``grid``) with its folders taken from ``path``."""
    out = dict(entry)
    for key in ("value", "values", "grid"):
        if isinstance(out.get(key), list):
            out[key] = [root_from_file(v, path) for v in out[key]]
        elif key in out:
            out[key] = root_from_file(out[key], path)
    return out


def experiment_from_dict(data: dict[str, Any], *, source: str) -> ExperimentConfig:
    cfg = validate_model(ExperimentConfig, data, source=source)
    check_experiment(cfg, source=source)
    warn_deprecated(cfg, source=source)
    return cfg


def apply_params(
    cfg: ExperimentConfig, params: Mapping[str, Any], *, source: str = "trial"
) -> ExperimentConfig:
    """``cfg`` with dotted keys set (``{"optimizer.lr": 3e-4, "loss.gamma": 2}``), validated and checked
    against the registries like a loaded file: the one way a trial's parameters reach its experiment."""
    data = cfg.to_dict()
    for key, value in params.items():
        *path, last = key.split(".")
        node = data
        for part in path:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
        node[last] = value
    return experiment_from_dict(data, source=source)


_DEPRECATION_SAID: set[str] = set()


def warn_deprecated(cfg: ExperimentConfig, *, source: str) -> None:
    """Keys that still load but do nothing: said once per process."""
    if cfg.data.num_workers is not None and "num_workers" not in _DEPRECATION_SAID:
        _DEPRECATION_SAID.add("num_workers")
        print(
            f"rudratune: warning: {source}: data.num_workers is ignored (batches are drawn from memory on the "
            "trial's device, with no loader workers); remove the key",
            file=sys.stderr,
        )


def check_experiment(cfg: ExperimentConfig, *, source: str) -> None:
    """Check the names and sizes against the registries, without building anything."""
    # local: the registries import torch; load_sweep and the CLI read YAML without it
    from rudratune.registry.losses import check_loss_params
    from rudratune.registry.models import check_encoder, get_model_info
    from rudratune.registry.optim import get_optimizer_info, get_scheduler_info

    try:
        info = get_model_info(cfg.model.name)
        check_encoder(info, cfg.model.encoder)
        problem = info.size_error(cfg.data.image_size)
        if problem:
            raise UserError(f"data.image_size: {problem}")
        check_loss_params(cfg.loss.name, cfg.loss.params)
        get_optimizer_info(cfg.optimizer.name)
        get_scheduler_info(cfg.scheduler.name)
    except UserError as err:
        raise UserError(f"{source}: {err}") from None
