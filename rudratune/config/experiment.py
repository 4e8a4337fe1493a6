"""Load an experiment YAML (+ overrides) into a validated ``ExperimentConfig``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rudratune.config.load import apply_overrides, read_yaml, validate_model
from rudratune.config.schema import ExperimentConfig
from rudratune.errors import UserError


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read, override and validate an experiment config; every mistake is a one-line UserError."""
    data = apply_overrides(read_yaml(path), list(overrides or []), source=f"{path} (command line)")
    return experiment_from_dict(data, source=str(path))


def experiment_from_dict(data: dict[str, Any], *, source: str) -> ExperimentConfig:
    cfg = validate_model(ExperimentConfig, data, source=source)
    check_experiment(cfg, source=source)
    return cfg


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
