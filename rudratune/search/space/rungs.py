"""ASHA's rungs: where they sit (``RungPlan``, the one rung formula) and the rule that says whether an epoch's
ranking of the trials agreed with their final one (a measured first rung is placed by it, and a finished sweep
checks its fixed rungs with it: P3 in BENCHMARKS.md had Spearman 0.28 at epoch 1 of 8 on the embedded data,
0.72 at epoch 5)."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_TRIALS = 6
"""Fewer finished trials than this say nothing about a ranking."""
GOOD = 0.6
"""A rank correlation from which a rung's cut is mostly signal."""
CHANCE = 0.05
"""How often random rankings may reach the correlation a measured rung needs (one-sided)."""


@dataclass(frozen=True)
class RungPlan:
    """ASHA's rungs: Ray's milestones ``grace * rf**k`` up to ``max_t``, rounded up."""

    grace_period: int
    reduction_factor: float
    max_t: int

    @property
    def epochs(self) -> tuple[int, ...]:
        """Every rung epoch, ``max_t`` included when a milestone lands there (a trial checkpoints at each)."""
        grace = min(self.grace_period, self.max_t)
        count = int(math.log(self.max_t / grace) / math.log(self.reduction_factor) + 1)
        return tuple(sorted({math.ceil(grace * self.reduction_factor**k) for k in range(count)}))

    @property
    def decisions(self) -> tuple[int, ...]:
        """The rungs where a trial can be stopped: those below ``max_t`` (every trial ends at ``max_t``)."""
        return tuple(r for r in self.epochs if r < self.max_t)


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
