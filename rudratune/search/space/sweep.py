"""Search space → validated sweep, Optuna define-by-run function, and per-trial experiment configs."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rudratune.config.experiment import (
    apply_params,
    experiment_from_dict,
    read_experiment,
    space_root_from_file,
)
from rudratune.config.load import apply_overrides, read_yaml, validate_model
from rudratune.config.schema import ExperimentConfig, known_keys
from rudratune.errors import UserError, did_you_mean
from rudratune.search.space.checks import check_value_types
from rudratune.search.space.settings import SWEEP_KEYS, Param, SweepSettings
from rudratune.train.metrics import METRICS, comparable_metrics

_ABSENT = object()
MAX_COMBINATIONS = 5000


@dataclass(frozen=True)
class Sweep:
    """A validated search: its settings, the base experiment (file + overrides + constants) and the space."""

    source: Path
    settings: SweepSettings
    base: ExperimentConfig
    """The base experiment (file + overrides + constants), validated once."""
    space: dict[str, Param]
    """The parameters Optuna suggests (constants without ``when`` are folded into ``base``)."""
    order: tuple[str, ...]

    @property
    def max_epochs(self) -> int:
        """ASHA's max_t: the most epochs any trial may run."""
        param = self.space.get("trainer.max_epochs")
        if param is None:
            return self.base.trainer.max_epochs
        return int(max(param.choices) if param.choices else param.max or 0)

    @property
    def planned_trials(self) -> int:
        """Trials the sweep can run: ``num_samples``, or fewer when a trial-epoch budget pays for fewer
        (each trial costs at least ASHA's grace period, or every epoch under FIFO or a measured grace)."""
        search = self.settings.search
        if search.budget_trial_epochs is None:
            return search.num_samples
        # auto: the first trials run every epoch before the rung is placed; plan as for FIFO
        least = search.scheduler.fixed_grace or self.max_epochs
        return max(1, min(search.num_samples, search.budget_trial_epochs // min(least, self.max_epochs)))

    def sampler_args(self) -> dict[str, Any]:
        return self.settings.search.searcher.sampler_args(self.planned_trials)

    def trial_config(self, params: dict[str, Any], *, source: str = "trial") -> ExperimentConfig:
        """The experiment a trial with these parameters trains (``config.experiment.apply_params``)."""
        return apply_params(self.base, params, source=source)


def load_sweep(path: str | Path, overrides: list[str] | None = None) -> Sweep:
    """Read a search-space YAML; route overrides to the sweep or the experiment; validate everything."""
    path = Path(path)
    raw = read_yaml(path)
    if isinstance(space := raw.get("space"), dict) and isinstance(space.get("data.root"), dict):
        space["data.root"] = space_root_from_file(space["data.root"], path)
    sweep_overrides: list[str] = []
    experiment_overrides: list[str] = []
    for text in overrides or []:
        key = text.lstrip("+~").split("=", 1)[0].split(".", 1)[0]
        if text.lstrip("+~").startswith("space."):  # a.b.c=… nests on every dot; space keys hold dots
            raise UserError(
                f"{path} (command line): '{text}': a space entry cannot be changed by an override (its key "
                f"holds dots, e.g. optimizer.lr); valid: edit {path}, or space={{...}} for a whole new space"
            )
        (sweep_overrides if key in SWEEP_KEYS else experiment_overrides).append(text)
    if raw.get("resources") == "auto" and any(
        t.lstrip("+~").startswith("resources.") for t in sweep_overrides
    ):
        raw = {**raw, "resources": {"cpu": "auto", "gpu": "auto"}}  # one key overridden, the other stays auto
    raw = apply_overrides(raw, sweep_overrides, source=f"{path} (command line)")
    if "experiment" not in raw:
        raise UserError(f"{path}: missing key 'experiment' (the experiment YAML this space starts from)")
    if not isinstance(raw.get("space", {}), dict):
        raise UserError(f"{path}: 'space' must be a mapping of config keys to parameters")
    settings: SweepSettings = validate_model(SweepSettings, raw, source=str(path))

    experiment_path = (path.parent / settings.experiment).resolve()
    if not experiment_path.exists():
        raise UserError(f"{path}: experiment: no such file {experiment_path}")
    base = read_experiment(experiment_path)
    if "experiment" in base:  # the space itself, or another space: its keys would be refused one by one
        raise UserError(
            f"{path}: experiment: {experiment_path} is a search space (it has its own experiment: key); "
            "valid: an experiment YAML such as experiments/rudraksha.yaml"
        )
    overridden = set()
    if experiment_overrides:
        base = apply_overrides(base, experiment_overrides, source=f"{path} (command line)")
        overridden = {t.lstrip("+~").split("=", 1)[0] for t in experiment_overrides}
    base_cfg = experiment_from_dict(base, source=str(experiment_path))
    base_cfg = base_cfg.model_copy(update={"provenance": None})

    space = {k: p for k, p in settings.space.items() if k not in overridden}
    _check_keys(space, base_cfg, path)
    constants = {k: p.value for k, p in space.items() if p.kind == "value" and not p.when}
    base_cfg = apply_params(base_cfg, constants, source=str(path))
    space = {k: p for k, p in space.items() if k not in constants}
    order = _dependency_order(space, path)
    _check_comparable(settings, space, path)
    if settings.data_transfer == "shared_path" and base_cfg.data.root is None:
        raise UserError(f"{path}: data_transfer: shared_path needs data.root, a folder every node mounts")
    sweep = Sweep(path, settings, base_cfg, space, order)
    _check_grid(sweep)
    _check_combinations(sweep)
    return sweep


def _check_keys(space: dict[str, Param], base: ExperimentConfig, path: Path) -> None:
    # local: the registries import torch; `rudratune run` reports YAML mistakes before
    from rudratune.registry.losses import loss_param_names

    valid = known_keys(base) | {f"loss.{p}" for p in loss_param_names()}
    for key, param in space.items():
        constant = param.kind == "value" and not param.when  # folded into the base: the sweep's own setting
        if key.startswith("tracking.") and not constant:  # the sweep's trackers are the driver's, one for all
            raise UserError(
                f"{path}: space.{key}: a space cannot vary where or how the sweep logs (tracking.* is the "
                f"sweep's, not a trial's); valid: set {key} in the experiment YAML or as an override "
                f"({key}=...)"
            )
        if key not in valid:
            raise UserError(
                f"{path}: space.{key}: the experiment config has no key '{key}'{did_you_mean(key, valid)}"
            )
        check_value_types(key, param, path)
        if param.distribution and (key == "data.root" or key.startswith("data.intensity.")):
            raise UserError(
                f"{path}: space.{key}: takes values or grid, not a distribution (each distinct dataset "
                "is decoded once before the sweep)"
            )
        for cond_key, cond_values in (param.when or {}).items():
            if cond_key not in space:
                raise UserError(
                    f"{path}: space.{key}.when: names '{cond_key}', which is not a parameter of the space"
                )
            choices = space[cond_key].choices
            if choices is None:
                raise UserError(
                    f"{path}: space.{key}.when: '{cond_key}' is continuous; a condition needs a values or grid parameter"
                )
            if not cond_values:
                raise UserError(
                    f"{path}: space.{key}.when: {cond_key}: [] matches no value, so {key} would never be drawn; "
                    f"valid: some of {choices}, or drop the when"
                )
            unknown = [v for v in cond_values if v not in choices]
            if unknown:
                raise UserError(
                    f"{path}: space.{key}.when: {cond_key} never takes {unknown[0]!r}; its values: {choices}"
                )


def _check_comparable(settings: SweepSettings, space: dict[str, Param], path: Path) -> None:
    """Refuse to rank trials by a metric whose scale changes with the loss while the space varies the loss."""
    if not METRICS[settings.metric].depends_on_loss:
        return
    varied = next((key for key in space if key.split(".")[0] == "loss"), None)
    if varied is not None:
        raise UserError(
            f"{path}: metric: {settings.metric} depends on the training loss, and space.{varied} varies "
            f"the loss, so trials would be ranked on different scales; use a comparable metric: "
            f"{', '.join(comparable_metrics())}"
        )


def _dependency_order(space: dict[str, Param], path: Path) -> tuple[str, ...]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in order:
            return
        if key in visiting:
            raise UserError(f"{path}: space.{key}.when: conditions form a cycle")
        visiting.add(key)
        for dep in space[key].when or {}:
            visit(dep)
        visiting.discard(key)
        order.append(key)

    for key in space:
        visit(key)
    return tuple(order)


def _active(param: Param, chosen: dict[str, Any]) -> bool:
    return all(chosen.get(k, _ABSENT) in values for k, values in (param.when or {}).items())


BUILD_KEYS = ("model.", "loss.", "data.image_size", "data.in_channels")
"""The keys that decide whether a trial's model and loss build: ``_check_combinations`` tries every distinct
combination of these (and of the keys their ``when`` names), not the product of the whole space."""


def _with_conditions(sweep: Sweep, keys: set[str]) -> set[str]:
    """``keys`` and every key their ``when`` conditions name, transitively."""
    found, todo = set(), list(keys)
    while todo:
        key = todo.pop()
        if key in found or key not in sweep.space:
            continue
        found.add(key)
        todo.extend(sweep.space[key].when or {})
    return found


def _assignments(sweep: Sweep, keys: set[str] | None = None) -> list[dict[str, Any]]:
    """Every reachable combination of the finite parameters among ``keys`` (default: all; continuous ones at
    min and max), each distinct once. Raises when there are more than ``MAX_COMBINATIONS``."""
    wanted = set(sweep.space) if keys is None else _with_conditions(sweep, keys)
    partial: list[dict[str, Any]] = [{}]
    for key in sweep.order:
        if key not in wanted:
            continue
        param = sweep.space[key]
        options = param.choices if param.choices is not None else [param.min, param.max]
        if param.dist is not None and param.dist.integer:
            options = [int(v) for v in options if v is not None]
        grown: list[dict[str, Any]] = []
        for chosen in partial:
            if _active(param, chosen):
                grown.extend({**chosen, key: value} for value in options)
            else:
                grown.append(chosen)
        partial = grown
        if len(partial) > MAX_COMBINATIONS:
            shown = ", ".join(sorted(wanted))
            raise UserError(
                f"{sweep.source}: space: more than {MAX_COMBINATIONS} combinations of {shown} to check before "
                f"the sweep starts; valid: at most {MAX_COMBINATIONS} (fewer values of those keys)"
            )
    return partial


assignments = _assignments


def _check_combinations(sweep: Sweep) -> None:
    """Refuse names the registries don't know and combinations that cannot build, before any trial: every
    distinct combination of the keys that decide a build (``BUILD_KEYS``), then every value of each other key
    (with the keys its ``when`` names)."""
    build = {k for k in sweep.space if k.startswith(BUILD_KEYS)}
    others = [chosen for k in sweep.space if k not in build for chosen in _assignments(sweep, {k})]
    for chosen in [*_assignments(sweep, build), *others]:
        described = ", ".join(
            f"{k}={v}" for k, v in chosen.items() if k.split(".")[0] in ("model", "data", "loss")
        )
        try:
            apply_params(sweep.base, chosen, source="space")
        except UserError as err:
            message = str(err).removeprefix("space: ")
            suffix = f" (with {described})" if described else ""
            raise UserError(f"{sweep.source}: space: {message}{suffix}") from None


class DefineByRun:
    """The Optuna define-by-run function: conditionals are plain ``if``s over what was already suggested.

    A class rather than a closure so that Tune can pickle the searcher into its experiment state.
    """

    def __init__(self, sweep: Sweep) -> None:
        self.space, self.order = sweep.space, sweep.order

    def __call__(self, trial: Any) -> dict[str, Any] | None:
        chosen: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        for key in self.order:
            param = self.space[key]
            if not _active(param, chosen):
                continue
            if param.kind == "value":
                chosen[key] = constants[key] = param.value
            elif param.choices is not None:
                chosen[key] = trial.suggest_categorical(key, param.choices)
            else:
                chosen[key] = _suggest_number(trial, key, param)
        return constants or None


def define_by_run(sweep: Sweep) -> DefineByRun:
    return DefineByRun(sweep)


def _suggest_number(trial: Any, key: str, param: Param) -> float | int:
    assert param.dist is not None and param.min is not None and param.max is not None  # Param validated them
    return param.dist.suggest(trial, key, param.min, param.max, param.q)


MAX_GRID_POINTS = 10_000
"""The most grid points a sweep tries first: each is a trial, and Ray holds them all in memory (10^8 took 3 GB
in 30 s before a single trial)."""


def _grid_keys(sweep: Sweep) -> list[str]:
    return [k for k in sweep.order if sweep.space[k].kind == "grid" and not sweep.space[k].when]


def _check_grid(sweep: Sweep) -> None:
    """Refuse a grid of more than ``MAX_GRID_POINTS`` points, counted without building it."""
    sizes = [len(sweep.space[k].grid or []) for k in _grid_keys(sweep)]
    if math.prod(sizes) > MAX_GRID_POINTS:
        product = " x ".join(f"{len(sweep.space[k].grid or [])} ({k})" for k in _grid_keys(sweep))
        raise UserError(
            f"{sweep.source}: space: the grid has {math.prod(sizes):,} points ({product}), more than "
            f"{MAX_GRID_POINTS:,}; valid: at most {MAX_GRID_POINTS:,} (fewer grid values, or values: / a "
            "distribution, which the searcher samples)"
        )


def grid_points(sweep: Sweep) -> list[dict[str, Any]]:
    """Every combination of the unconditional ``grid`` parameters; tried first, then sampled by the searcher."""
    keys = _grid_keys(sweep)
    if not keys:
        return []
    _check_grid(sweep)
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(sweep.space[k].grid or [] for k in keys))
    ]
