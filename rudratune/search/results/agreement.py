"""Did a finished sweep's fixed ASHA rungs judge on signal? Among the trials that ran to the end, how well
did the first rung's ranking predict their final best? Where it was close to chance, the sweep says so and
names a later grace period."""

from __future__ import annotations

from collections.abc import Sequence

from rudratune.search.space import GOOD, agreement, settled


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
