"""``rungs.json``: where a sweep with ``grace_period: auto`` placed its first rung, written once when
the decision is made (``rudratune.search.strategy.asha``) and read back by resume, finish, the summary and
the report. One writer (``RungDecision.save``), one reader (``RungDecision.read``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from rudratune.search.space import GOOD, MIN_TRIALS, TrialSchedulerSettings, chance_level

RUNGS_FILE = "rungs.json"


@dataclass(frozen=True)
class RungDecision:
    """A measured first rung.

    Attributes:
        grace_period: the first rung's epoch; None when no epoch's ranking agreed (ASHA then stops nothing).
        spearman: epoch → Spearman correlation of that epoch's ranking with the final one.
        after_trials: how many trials had run every epoch when it was decided.
    """

    grace_period: int | None
    spearman: dict[int, float] = field(default_factory=dict)
    after_trials: int = 0

    @property
    def needed(self) -> float:
        """The correlation an epoch needed (``space.rungs.settled``)."""
        return max(GOOD, chance_level(self.after_trials)) if self.after_trials else GOOD

    def save(self, run_dir: Path) -> None:
        payload = {
            "grace_period": self.grace_period,
            "spearman": {str(e): round(rho, 3) for e, rho in self.spearman.items()},
            "after_trials": self.after_trials,
        }
        tmp = Path(run_dir) / f".{RUNGS_FILE}.tmp"
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(Path(run_dir) / RUNGS_FILE)

    @classmethod
    def read(cls, run_dir: Path) -> RungDecision | None:
        """The decision of the sweep in ``run_dir``, or None when none was made (or the file is damaged)."""
        try:
            raw = json.loads((Path(run_dir) / RUNGS_FILE).read_text())
            grace = raw.get("grace_period")
            return cls(
                grace_period=int(grace) if grace is not None else None,
                spearman={int(e): float(rho) for e, rho in (raw.get("spearman") or {}).items()},
                after_trials=int(raw.get("after_trials") or 0),
            )
        except (OSError, ValueError, TypeError, AttributeError):
            return None


def measured_grace(scheduler: TrialSchedulerSettings, run_dir: Path) -> int | None:
    if not scheduler.measured:
        return None
    decision = RungDecision.read(run_dir)
    return decision.grace_period if decision is not None else None


def sweep_rungs(scheduler: TrialSchedulerSettings, max_t: int, run_dir: Path) -> tuple[int, ...]:
    """The epochs at which a sweep's ASHA decided: from its settings, or from ``rungs.json`` when measured."""
    plan = scheduler.plan(max_t, measured_grace=measured_grace(scheduler, run_dir))
    return plan.epochs if plan is not None else ()


def grace_text(scheduler: TrialSchedulerSettings, run_dir: Path) -> str:
    """The grace period in words: ``3``, ``5 (measured)``, or why a measured one was never placed."""
    if not scheduler.measured:
        return str(scheduler.grace_period)
    decided = RungDecision.read(run_dir)
    if decided is None:
        return f"auto, not placed: fewer than {MIN_TRIALS} trials ran every epoch"
    if decided.grace_period is None:
        return "auto, not placed: no epoch's ranking agreed with the final one"
    return f"{decided.grace_period} (measured)"


def decision_line(scheduler: TrialSchedulerSettings, run_dir: Path, max_t: int) -> str | None:
    """What a measured grace period came to, for the sweep's summary (None when not measured)."""
    if not scheduler.measured:
        return None
    decided = RungDecision.read(run_dir)
    if decided is None:
        return (
            f"ASHA stopped nothing: its first rung is placed once {MIN_TRIALS} trials have run all {max_t} "
            "epochs (grace_period: auto), and fewer did"
        )
    if decided.grace_period is None:
        epoch, rho = max(decided.spearman.items(), key=lambda kv: kv[1], default=("-", math.nan))
        return (
            f"ASHA stopped nothing: after {decided.after_trials} trials ran all {max_t} epochs, no "
            f"earlier epoch's ranking agreed with their final one (best: epoch {epoch}, Spearman "
            f"{rho:.2f}; needed {decided.needed:.2f}), so early stops would have been chance"
        )
    return (
        f"ASHA's first rung: epoch {decided.grace_period}, measured after {decided.after_trials} trials ran "
        f"all {max_t} epochs (the first epoch whose ranking agreed with their final one: Spearman "
        f"{decided.spearman.get(decided.grace_period, math.nan):.2f})"
    )
