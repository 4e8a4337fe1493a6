"""How a trial ended: the one vocabulary the results, the trackers and the Optuna study share."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class TrialEnding(StrEnum):
    """How a trial ended (``ending`` in results.json); ``TrialRow.reason`` says the same in words."""

    COMPLETED = "completed"
    EARLY_STOPPED = "early_stopped"
    STOPPED_BY_ASHA = "stopped_by_asha"
    STOPPED_BY_BUDGET = "stopped_by_budget"
    """The sweep's ``search.budget_trial_epochs`` ran out (told apart from ASHA by the rungs, at the end)."""
    FAILED = "failed"
    REFUSED = "refused"
    """A cost constraint broke before training: no epoch ran."""
    UNFINISHED = "unfinished"
    """Not ended yet: a row of a sweep that is still running (or was interrupted), read from its folder."""


REASONS = {
    TrialEnding.FAILED: "failed in epoch {next}",
    TrialEnding.COMPLETED: "completed {epoch} epochs",
    TrialEnding.EARLY_STOPPED: "early-stopped (no val_loss progress) at epoch {epoch}",
    TrialEnding.STOPPED_BY_ASHA: "stopped by ASHA at epoch {epoch}",
    TrialEnding.REFUSED: "refused before training{violation}",
    TrialEnding.STOPPED_BY_BUDGET: "stopped at epoch {epoch}: the sweep's budget ran out",
    TrialEnding.UNFINISHED: "sweep not finished",
}


def trial_ending(
    failed: bool, last_result: Mapping[str, Any] | None, max_epochs: int, *, scheduled: bool = True
) -> TrialEnding:
    """How a trial ended, from its last result. ``max_epochs``: the trial's own; ``scheduled``: whether a
    scheduler could stop it (under FIFO a trial that ends early stopped itself)."""
    last_result = last_result or {}
    if failed:
        return TrialEnding.FAILED
    if last_result.get("refused"):
        return TrialEnding.REFUSED
    if int(last_result.get("epoch", 0)) >= max_epochs:
        return TrialEnding.COMPLETED
    if last_result.get("early_stopped") or not scheduled:
        return TrialEnding.EARLY_STOPPED
    return TrialEnding.STOPPED_BY_ASHA


def reason_text(ending: TrialEnding, epoch: int, violation: str = "") -> str:
    """How a trial ended, in words: completed, stopped early (by whom, at which epoch), refused or failed."""
    return REASONS[ending].format(
        epoch=epoch, next=epoch + 1, violation=f": {violation}" if violation else ""
    )
