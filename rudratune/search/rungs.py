"""Did ASHA's rungs judge on signal? A sweep checks itself: among the trials that ran to the end, how well
did each epoch's ranking value predict their final best? Where rung decisions were close to chance, the
sweep says so and names a later grace period (issue 9's P3: epoch 1 had Spearman 0.28 with the final
ranking on the embedded data; epoch 5 of 8 had 0.72)."""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rudratune.search.settings import TrialSchedulerSettings

MIN_TRIALS = 6
"""Fewer finished trials than this say nothing about a ranking."""
GOOD = 0.6
"""A rank correlation from which a rung's cut is mostly signal."""
CHANCE = 0.05
"""How often random rankings may reach the correlation a measured rung needs (one-sided)."""
RUNGS_FILE = "rungs.json"
"""Where a sweep with ``grace_period: auto`` writes the first rung it measured (``search.asha``)."""


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson on ranks); 0 when either side is constant."""
    ra, rb = ranks(a), ranks(b)
    n = len(ra)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / (va * vb) ** 0.5 if va > 0 and vb > 0 else 0.0


@functools.lru_cache
def chance_level(n: int) -> float:
    """The Spearman correlation that two random rankings of ``n`` trials reach with probability ``CHANCE``:
    exact over all n! orderings up to 8 trials (6: 0.83, 7: 0.71, 8: 0.64), ``1.645 / sqrt(n - 1)`` above.
    With few trials a strong-looking correlation is often luck; a measured rung must beat this as well."""
    if n > 8:
        return 1.645 / math.sqrt(n - 1)
    scale = n * (n * n - 1)
    values = sorted(
        round(1 - 6 * sum((i - p) ** 2 for i, p in enumerate(order)) / scale, 9)
        for order in itertools.permutations(range(n))
    )
    for level in sorted(set(values)):
        if sum(v >= level for v in values) <= CHANCE * len(values):
            return level
    return 1.0


def settled(rho: float, n: int) -> bool:
    """A ranking agrees with the final one: strongly (``GOOD``) and beyond what chance gives ``n`` trials."""
    return rho >= max(GOOD, chance_level(n) - 1e-9)


def agreement(histories: Sequence[Sequence[float]], max_epochs: int) -> dict[int, float]:
    """Epoch → Spearman between the trials' ranking value at that epoch and at their end, over the trials
    whose history covers ``max_epochs`` epochs (the value is a running best, so its end is the final best).
    Empty with fewer than ``MIN_TRIALS`` such trials."""
    full = [h for h in histories if len(h) >= max_epochs]
    if len(full) < MIN_TRIALS:
        return {}
    final = [h[max_epochs - 1] for h in full]
    return {e: spearman([h[e - 1] for h in full], final) for e in range(1, max_epochs)}


def rung_warning(histories: Sequence[Sequence[float]], rungs: Sequence[int], max_epochs: int) -> str | None:
    """One line when ASHA's first rung ranked the finished trials close to chance, else None."""
    by_epoch = agreement(histories, max_epochs)
    if not rungs or not by_epoch or by_epoch.get(rungs[0], 1.0) >= GOOD:
        return None
    first, n = rungs[0], sum(len(h) >= max_epochs for h in histories)
    later = next((e for e, rho in sorted(by_epoch.items()) if e > first and settled(rho, n)), None)
    advice = (
        f"consider search.scheduler.grace_period: {later} (from epoch {later} the ranking agreed, "
        f"Spearman {by_epoch[later]:.2f})"
        if later
        else "no earlier epoch agreed well: consider FIFO or more epochs"
    )
    return (
        f"ASHA's rung at epoch {first} barely predicted how the {n} trials that ran all {max_epochs} epochs "
        f"ended (Spearman {by_epoch[first]:.2f} between their ranking there and at the end), so its stops "
        f"were close to chance; {advice}"
    )


def read_decision(run_dir: Path) -> dict[str, Any] | None:
    """The measured first rung of a sweep (``{"grace_period": int | None, ...}``), or None if not decided."""
    path = Path(run_dir) / RUNGS_FILE
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def sweep_rungs(scheduler: TrialSchedulerSettings, max_t: int, run_dir: Path) -> tuple[int, ...]:
    """The epochs at which a sweep's ASHA decided: from its settings, or from ``rungs.json`` when measured."""
    if not scheduler.measured:
        return scheduler.rungs(max_t)
    grace = (read_decision(run_dir) or {}).get("grace_period")
    if not isinstance(grace, int):
        return ()
    return scheduler.model_copy(update={"grace_period": grace}).rungs(max_t)


def grace_text(scheduler: TrialSchedulerSettings, run_dir: Path) -> str:
    """The grace period in words: ``3``, ``5 (measured)``, or why a measured one was never placed."""
    if not scheduler.measured:
        return str(scheduler.grace_period)
    decided = read_decision(run_dir)
    if decided is None:
        return f"auto, not placed: fewer than {MIN_TRIALS} trials ran every epoch"
    if decided.get("grace_period") is None:
        return "auto, not placed: no epoch's ranking agreed with the final one"
    return f"{decided['grace_period']} (measured)"


def decision_line(scheduler: TrialSchedulerSettings, run_dir: Path, max_t: int) -> str | None:
    """What a measured grace period came to, for the sweep's summary (None when not measured)."""
    if not scheduler.measured:
        return None
    decided = read_decision(run_dir)
    if decided is None:
        return (
            f"ASHA stopped nothing: its first rung is placed once {MIN_TRIALS} trials have run all {max_t} "
            "epochs (grace_period: auto), and fewer did"
        )
    rho = decided.get("spearman", {})
    grace = decided.get("grace_period")
    if grace is None:
        best = max(rho.items(), key=lambda kv: kv[1], default=("-", float("nan")))
        return (
            f"ASHA stopped nothing: after {decided.get('after_trials')} trials ran all {max_t} epochs, no "
            f"earlier epoch's ranking agreed with their final one (best: epoch {best[0]}, Spearman "
            f"{best[1]:.2f}; needed {max(GOOD, chance_level(int(decided.get('after_trials') or 0))):.2f}), so "
            "early stops would have been chance"
        )
    return (
        f"ASHA's first rung: epoch {grace}, measured after {decided.get('after_trials')} trials ran all "
        f"{max_t} epochs (the first epoch whose ranking agreed with their final one: Spearman "
        f"{rho.get(str(grace), float('nan')):.2f})"
    )
