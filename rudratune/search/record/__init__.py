"""What a sweep folder holds about itself: ``sweep.json`` (the sweep, its searcher, where Ray keeps it) and
``rungs.json`` (a measured first rung), each with one writer and one reader."""

from rudratune.search.record.endings import REASONS, TrialEnding, reason_text, trial_ending
from rudratune.search.record.rungs import (
    RUNGS_FILE,
    RungDecision,
    decision_line,
    grace_text,
    measured_grace,
    sweep_rungs,
)
from rudratune.search.record.sweep import (
    RECORD,
    STUDY_DB,
    STUDY_JOURNAL,
    SweepRecord,
    load_record,
    load_study,
    mark_finished,
    objective_record,
    record_for,
    searcher_record,
    study_storage_of,
)

__all__ = [
    "REASONS",
    "RECORD",
    "RUNGS_FILE",
    "STUDY_DB",
    "STUDY_JOURNAL",
    "RungDecision",
    "TrialEnding",
    "SweepRecord",
    "decision_line",
    "grace_text",
    "load_record",
    "load_study",
    "mark_finished",
    "measured_grace",
    "objective_record",
    "reason_text",
    "record_for",
    "searcher_record",
    "study_storage_of",
    "sweep_rungs",
    "trial_ending",
]
