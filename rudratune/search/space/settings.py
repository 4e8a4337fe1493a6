"""The search-space YAML, typed: sweep settings plus one ``Param`` per varied key."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from rudratune.config.schema import SEED_MAX, SafeName, Section
from rudratune.search.space.distributions import DISTRIBUTIONS, DistributionInfo
from rudratune.search.space.objectives import Constraint, direction_of, objective_names, parse_constraints
from rudratune.search.space.rungs import RungPlan
from rudratune.train.metrics import METRICS, ranking_key

ALIASES = {"log_uniform_values": "log_uniform"}
"""W&B sweep spellings accepted as they are. W&B's own ``log_uniform`` takes exponents (e**min to e**max);
ours, like its ``log_uniform_values``, takes the values themselves."""


class _Strict(Section):
    """Unknown keys refused; numbers finite and never true/false (``Section``)."""


class Param(_Strict):
    """One key of ``space``: exactly one of ``value``, ``values``, ``grid`` or ``distribution``."""

    value: Any = None
    values: list[Any] | None = None
    grid: list[Any] | None = None
    distribution: str | None = None
    min: float | None = None
    max: float | None = None
    q: float | None = None
    when: dict[str, list[Any]] | None = None

    @field_validator("distribution", mode="before")
    @classmethod
    def _alias(cls, name: Any) -> Any:
        return ALIASES.get(name, name) if isinstance(name, str) else name

    @model_validator(mode="after")
    def _one_kind(self) -> Param:
        kinds = [k for k in ("value", "values", "grid", "distribution") if self._given(k)]
        if len(kinds) != 1:
            raise ValueError("give exactly one of value, values, grid or distribution")
        if self.distribution is not None:
            if self.distribution not in DISTRIBUTIONS:
                raise ValueError(
                    f"unknown distribution '{self.distribution}'; valid: {', '.join(DISTRIBUTIONS)}"
                )
            if self.min is None or self.max is None:
                raise ValueError(f"distribution {self.distribution} needs min and max")
            if self.min >= self.max:
                raise ValueError(f"min ({self.min}) must be below max ({self.max})")
            if not math.isfinite(self.max - self.min):
                raise ValueError(f"max - min overflows ({self.max} - {self.min}); valid: a finite range")
            info = DISTRIBUTIONS[self.distribution]
            if info.log and self.min <= 0:
                hint = " (W&B's log_uniform takes exponents; here min and max are the values)"
                raise ValueError(
                    f"{self.distribution} needs min > 0, got {self.min}{hint * (self.distribution == 'log_uniform')}"
                )
            if info.stepped and (self.q is None or self.q <= 0):
                raise ValueError(f"{self.distribution} needs a step q > 0")
            if info.stepped and self.q is not None and self.q > self.max - self.min:
                raise ValueError(
                    f"step q ({self.q}) is larger than max - min ({self.max - self.min:g}), so every draw "
                    f"would be min; valid: 0 < q <= max - min"
                )
            if not info.stepped and self.q is not None:
                raise ValueError(f"q is only for q_uniform, not {self.distribution}")
            if info.integer and (self.min != int(self.min) or self.max != int(self.max)):
                raise ValueError(f"{self.distribution} needs whole-number min and max")
            if info.integer and info.log and self.min < 1:
                raise ValueError(f"{self.distribution} needs min >= 1, got {self.min}")
        elif self.min is not None or self.max is not None or self.q is not None:
            raise ValueError("min, max and q belong to a distribution")
        for choices in (self.values, self.grid):
            if choices is not None and not choices:
                raise ValueError("needs at least one value")
            if choices is not None and not all(
                isinstance(v, (str, int, float, bool)) or v is None for v in choices
            ):
                raise ValueError("values must be plain scalars (text, numbers, true/false or null)")
        if self._given("value") and isinstance(self.value, (dict, list)):
            raise ValueError("a constant value must be a plain scalar")
        return self

    def _given(self, key: str) -> bool:
        return key in self.model_fields_set if key == "value" else getattr(self, key) is not None

    @property
    def kind(self) -> str:
        return next(k for k in ("value", "values", "grid", "distribution") if self._given(k))

    @property
    def dist(self) -> DistributionInfo | None:
        """The numeric distribution (its flags: integer, log, stepped), or None for values, grid or value."""
        return DISTRIBUTIONS[self.distribution] if self.distribution is not None else None

    @property
    def choices(self) -> list[Any] | None:
        """The finite values this parameter can take, or None for a continuous distribution."""
        if self.kind == "value":
            return [self.value]
        return self.values if self.values is not None else self.grid


class SearcherSettings(_Strict):
    name: Literal["optuna", "nsga2", "random"] = "optuna"
    """``optuna``: TPE; ``nsga2``: Optuna's NSGA-II (multi-objective, evolutionary); ``random``."""
    seed: int = Field(42, ge=0, le=SEED_MAX)
    n_startup_trials: int | None = Field(None, ge=1)
    """Random trials before TPE starts modelling (optuna only); unset: ``default_startup_trials``."""

    def sampler_args(self, planned_trials: int) -> dict[str, Any]:
        """The Optuna sampler's class and every argument it is built with (recorded in sweep.json)."""
        if self.name == "random":
            return {"sampler": "RandomSampler", "seed": self.seed}
        if self.name == "nsga2":  # generations of a few trials: a sweep here has tens, not thousands
            return {
                "sampler": "NSGAIISampler",
                "seed": self.seed,
                "population_size": nsga2_population(planned_trials),
            }
        startup = self.n_startup_trials or default_startup_trials(planned_trials)
        return {
            "sampler": "TPESampler",
            "seed": self.seed,
            "n_startup_trials": startup,
            "multivariate": True,  # models the joint density: the loss, the net and the lr interact
            "group": True,  # one model per conditional branch (e.g. loss.gamma only with DiceFocalLoss)
            "constant_liar": True,  # concurrent trials count as bad until reported: no near-duplicates
            "n_ei_candidates": 24,
        }


def nsga2_population(planned_trials: int) -> int:
    """A third of the trials, at least 4 and at most 50 (Optuna's default): three or more generations."""
    return max(4, min(50, planned_trials // 3))


def default_startup_trials(planned_trials: int) -> int:
    """A fifth of the trials the sweep can run, at least 4 (TPE needs a few points on each side) and at
    most 10 (Optuna's default)."""
    return max(4, min(10, planned_trials // 5))


class TrialSchedulerSettings(_Strict):
    name: Literal["asha", "fifo"] = "asha"
    grace_period: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    """The first rung's epoch; ``auto``: measured during the sweep (``rudratune.search.asha``): nothing stops
    until 6 trials have run every epoch, then the first rung goes where their ranking had settled."""
    reduction_factor: float = Field(3, gt=1)

    @property
    def measured(self) -> bool:
        """``grace_period: auto`` under ASHA: the first rung is placed during the sweep. The one place
        ``auto`` is decoded."""
        return self.name == "asha" and self.grace_period == "auto"

    @property
    def fixed_grace(self) -> int | None:
        """The grace period a user wrote (None for FIFO and for ``auto``)."""
        return self.grace_period if self.name == "asha" and isinstance(self.grace_period, int) else None

    def plan(self, max_t: int, *, measured_grace: int | None = None) -> RungPlan | None:
        """The rungs ASHA decides at: from a fixed grace period, or from the one a measured sweep placed
        (``measured_grace``, read from its ``rungs.json``); None under FIFO or before a rung is placed."""
        grace = measured_grace if self.measured else self.fixed_grace
        return None if grace is None else RungPlan(grace, self.reduction_factor, max_t)

    def rungs(self, max_t: int) -> tuple[int, ...]:
        """The epochs at which ASHA decides with a fixed grace period (a trial checkpoints there, so a paused
        or resumed trial goes on from the decision point). Empty for FIFO, and for ``auto`` (known only once
        measured: ``rudratune.search.record.sweep_rungs``)."""
        plan = self.plan(max_t)
        return plan.epochs if plan is not None else ()


class SearchSettings(_Strict):
    num_samples: int = Field(16, ge=1)
    max_concurrent: int = Field(2, ge=1)
    time_budget_s: float | None = Field(None, gt=0)
    budget_trial_epochs: int | None = Field(None, ge=1)
    """Stop the sweep once its trials have run this many epochs in all (a compute budget)."""
    searcher: SearcherSettings = SearcherSettings()
    scheduler: TrialSchedulerSettings = TrialSchedulerSettings()


class Resources(_Strict):
    """Per trial; ``auto`` in a key splits the cluster's CPUs (or packs GPUs by measured memory)."""

    cpu: Annotated[float, Field(gt=0)] | Literal["auto"] = 1
    gpu: Annotated[float, Field(ge=0)] | Literal["auto"] = 0


class CheckpointSettings(_Strict):
    num_to_keep: int = Field(1, ge=1, le=10)
    """Best checkpoints each trial keeps while it runs (Tune also keeps the latest, to resume from)."""
    keep_top_trials: int = Field(3, ge=0)
    """Trials stopped early lose their checkpoints, except the best ``keep_top_trials`` of the sweep."""
    every_s: float = Field(60, ge=0)
    """Besides ASHA's rung epochs and its last epoch, a trial saves a checkpoint when this many seconds
    have passed since its last one (0: every epoch)."""


class SweepSettings(_Strict):
    experiment: str
    name: SafeName | None = None
    metric: str = "val_dice"
    """What trials are ranked by: a name in ``rudratune.train.metrics.METRICS``."""
    mode: Literal["min", "max"] | None = None
    search: SearchSettings = SearchSettings()
    resources: Resources | Literal["auto"] = Resources()
    checkpoints: CheckpointSettings = CheckpointSettings()
    max_failures: int = Field(0, ge=-1)
    storage: str | None = None
    data_transfer: Literal["object_store", "shared_path"] = "object_store"
    """``object_store``: the driver decodes the data once and Ray ships it to every node;
    ``shared_path``: trials read ``data.root`` themselves (a filesystem every node mounts)."""
    space: dict[str, Param] = Field(default_factory=dict)
    constraints: dict[str, str | float] = Field(default_factory=dict)
    """``{params_m: "<= 10", latency_ms: "<= 5", val_dice: ">= 0.5"}`` (see ``rudratune.search.space.objectives``)."""

    @field_validator("constraints")
    @classmethod
    def _parse_constraints(cls, value: dict[str, str | float]) -> dict[str, str | float]:
        parse_constraints(value)
        return value

    @property
    def constraint_list(self) -> tuple[Constraint, ...]:
        return parse_constraints(self.constraints)

    secondary: list[str] = Field(default_factory=list)
    """The objectives after the first of ``metric: [val_dice, latency_ms]`` (the first stays ``metric``)."""
    secondary_modes: list[Literal["min", "max"]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _split_objectives(cls, data: Any) -> Any:
        """``metric: [a, b]``, ``mode: [x, y]`` → ``metric: a``, ``mode: x``, ``secondary: [b]`` (+ modes)."""
        if not isinstance(data, dict) or not isinstance(data.get("metric"), list):
            return data
        names, modes = data["metric"], data.get("mode")
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError("metric: give a metric name or a list of them, e.g. [val_dice, latency_ms]")
        if modes is not None and (not isinstance(modes, list) or len(modes) != len(names)):
            raise ValueError(
                f"mode: give one mode per metric, e.g. {[direction_of(n) or 'min' for n in names]}"
            )
        if names[0] not in METRICS:
            raise ValueError(
                f"metric: the first metric is the one ASHA stops trials on, so it must be trained: "
                f"{', '.join(METRICS)} (got '{names[0]}'; list costs after it)"
            )
        data = {**data, "metric": names[0], "secondary": names[1:]}
        if modes is not None:
            data.update(mode=modes[0], secondary_modes=modes[1:])
        return data

    @model_validator(mode="after")
    def _secondary_objectives(self) -> SweepSettings:
        for i, name in enumerate(self.secondary):
            expected = direction_of(name)
            if expected is None:
                raise ValueError(f"metric: unknown objective '{name}'; valid: {', '.join(objective_names())}")
            if name == self.metric or self.secondary.count(name) > 1:
                raise ValueError(f"metric: '{name}' is listed twice")
            if i < len(self.secondary_modes) and self.secondary_modes[i] != expected:
                raise ValueError(
                    f"mode {self.secondary_modes[i]} makes no sense for {name}; use mode: {expected}"
                )
        if self.secondary_modes and len(self.secondary_modes) != len(self.secondary):
            raise ValueError("mode: give one mode per metric")
        return self

    @property
    def objectives(self) -> list[str]:
        """Every objective, the primary one (which ASHA stops trials on) first."""
        return [self.metric, *self.secondary]

    @property
    def modes(self) -> list[str]:
        return [self.direction, *(direction_of(name) or "min" for name in self.secondary)]

    @property
    def tune_objectives(self) -> list[str]:
        """The reported keys the searcher is told: ranking keys of trained metrics, costs as measured."""
        return [ranking_key(n) if n in METRICS else n for n in self.objectives]

    @field_validator("resources", mode="before")
    @classmethod
    def _resources_form(cls, value: Any) -> Any:
        if isinstance(value, (dict, Resources)) or value == "auto":
            return value
        from rudratune.errors import did_you_mean

        hint = did_you_mean(value, ["auto"]) if isinstance(value, str) else ""
        raise ValueError(f"got {value!r}{hint}; valid: auto or a mapping such as {{cpu: 1, gpu: 0}}")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric '{value}'; valid: {', '.join(METRICS)}")
        return value

    @model_validator(mode="after")
    def _mode_matches_metric(self) -> SweepSettings:
        expected = METRICS[self.metric].direction
        if self.mode is not None and self.mode != expected:
            raise ValueError(f"mode {self.mode} makes no sense for {self.metric}; use mode: {expected}")
        return self

    @property
    def direction(self) -> str:
        return METRICS[self.metric].direction

    @property
    def rank_metric(self) -> str:
        """What ASHA and the searcher rank trials by: the running best of ``metric``, ties of a thresholded
        score broken by the reference loss (``rank_val_dice``; see ``rudratune.train.metrics``)."""
        return ranking_key(self.metric)


SWEEP_KEYS = tuple(SweepSettings.model_fields)
