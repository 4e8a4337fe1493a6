"""The search-space YAML, typed: sweep settings plus one ``Param`` per varied key."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rudratune.search.distributions import DISTRIBUTIONS

ALIASES = {"log_uniform_values": "log_uniform"}
"""W&B sweep spellings accepted as they are. W&B's own ``log_uniform`` takes exponents (e**min to e**max);
ours, like its ``log_uniform_values``, takes the values themselves."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
            info = DISTRIBUTIONS[self.distribution]
            if info.log and self.min <= 0:
                hint = " (W&B's log_uniform takes exponents; here min and max are the values)"
                raise ValueError(
                    f"{self.distribution} needs min > 0, got {self.min}{hint * (self.distribution == 'log_uniform')}"
                )
            if info.stepped and (self.q is None or self.q <= 0):
                raise ValueError(f"{self.distribution} needs a step q > 0")
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
    def choices(self) -> list[Any] | None:
        """The finite values this parameter can take, or None for a continuous distribution."""
        if self.kind == "value":
            return [self.value]
        return self.values if self.values is not None else self.grid


class SearcherSettings(_Strict):
    name: Literal["optuna", "random"] = "optuna"
    seed: int = 42
    n_startup_trials: int = Field(5, ge=1)
    """Random trials before TPE starts modelling (optuna only)."""


class TrialSchedulerSettings(_Strict):
    name: Literal["asha", "fifo"] = "asha"
    grace_period: int = Field(1, ge=1)
    reduction_factor: float = Field(3, gt=1)


class SearchSettings(_Strict):
    num_samples: int = Field(16, ge=1)
    max_concurrent: int = Field(2, ge=1)
    time_budget_s: float | None = Field(None, gt=0)
    searcher: SearcherSettings = SearcherSettings()
    scheduler: TrialSchedulerSettings = TrialSchedulerSettings()


class Resources(_Strict):
    cpu: float = Field(1, gt=0)
    gpu: float = Field(0, ge=0)


class CheckpointSettings(_Strict):
    num_to_keep: int = Field(1, ge=1, le=10)
    """Best checkpoints each trial keeps while it runs (Tune also keeps the latest, to resume from)."""
    keep_top_trials: int = Field(3, ge=0)
    """Trials stopped early lose their checkpoints, except the best ``keep_top_trials`` of the sweep."""


class SweepSettings(_Strict):
    experiment: str
    name: str | None = None
    metric: Literal["val_loss", "val_dice", "val_iou"] = "val_loss"
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

    @model_validator(mode="after")
    def _mode_matches_metric(self) -> SweepSettings:
        expected = "min" if self.metric == "val_loss" else "max"
        if self.mode is not None and self.mode != expected:
            raise ValueError(f"mode {self.mode} makes no sense for {self.metric}; use mode: {expected}")
        return self

    @property
    def direction(self) -> str:
        return self.mode or ("min" if self.metric == "val_loss" else "max")


SWEEP_KEYS = tuple(SweepSettings.model_fields)
