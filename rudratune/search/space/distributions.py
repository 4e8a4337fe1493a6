"""The one table of numeric distributions a search space may name: its flags, its Optuna suggestion and
its Optuna distribution (read back by the report's importance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DistributionInfo:
    name: str
    integer: bool = False
    log: bool = False
    stepped: bool = False
    """Needs a step ``q`` (and takes no other)."""

    def suggest(
        self, trial: Any, key: str, low: float, high: float, step: float | None = None
    ) -> float | int:
        """Ask an Optuna trial for a value of ``key``."""
        if self.integer:
            return trial.suggest_int(key, int(low), int(high), log=self.log)
        return trial.suggest_float(key, low, high, log=self.log, step=step if self.stepped else None)

    def optuna(self, low: float, high: float, step: float | None = None) -> Any:
        """The matching ``optuna.distributions`` object."""
        # local: the settings import this table while validating a space; optuna loads only when used
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(low), int(high), log=self.log)
        return FloatDistribution(float(low), float(high), log=self.log, step=step if self.stepped else None)


DISTRIBUTIONS: dict[str, DistributionInfo] = {
    info.name: info
    for info in (
        DistributionInfo("uniform"),
        DistributionInfo("log_uniform", log=True),
        DistributionInfo("int_uniform", integer=True),
        DistributionInfo("int_log_uniform", integer=True, log=True),
        DistributionInfo("q_uniform", stepped=True),
    )
}
