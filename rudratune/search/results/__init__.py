"""A finished sweep's trials, typed (``TrialRow``, ``TrialEnding``): built from Ray's ResultGrid, stored in
``results.json`` / ``results.csv`` (read and written in ``store`` only), ranked, picked for export, their Pareto
front, and the check of fixed ASHA rungs against how the trials ended."""

from rudratune.search.record import REASONS, TrialEnding, reason_text, trial_ending
from rudratune.search.results.agreement import rung_warning
from rudratune.search.results.grid import rank_histories, trial_row, trial_rows
from rudratune.search.results.histories import live_rows, reported_trial_id, trial_dir, trial_history
from rudratune.search.results.pick import PICK_RULES, PickRule, choose
from rudratune.search.results.ranking import pareto_front, ranked
from rudratune.search.results.row import TrialRow
from rudratune.search.results.store import (
    FIXED,
    RESULTS,
    RESULTS_JSON,
    read_results,
    row_from_dict,
    row_to_dict,
    write_results,
)

__all__ = [
    "FIXED",
    "PICK_RULES",
    "REASONS",
    "RESULTS",
    "RESULTS_JSON",
    "PickRule",
    "TrialEnding",
    "TrialRow",
    "choose",
    "live_rows",
    "pareto_front",
    "rank_histories",
    "ranked",
    "read_results",
    "reason_text",
    "reported_trial_id",
    "row_from_dict",
    "row_to_dict",
    "rung_warning",
    "trial_dir",
    "trial_ending",
    "trial_history",
    "trial_row",
    "trial_rows",
    "write_results",
]
