"""The search: what is searched (``space``), how (``strategy``), where trials run (``placement``), what a
sweep folder holds about itself (``record``), its trials as results (``results``), and the driver that runs
it all (``driver``). Each is a sub-package with a curated ``__init__``; the layers, top to bottom, are
driver → {strategy, placement, results} → record → space (``tests/test_layers.py`` keeps them so).

The names below are what the commands use; they load on first use, so ``import rudratune.search`` imports
no Ray, torch or Optuna.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rudratune.search.driver import (
        Ending,
        SweepSummary,
        check_data,
        describe,
        dry_run,
        execute,
        finish,
        load_sweep_data,
        record_data,
    )
    from rudratune.search.placement import (
        check_address,
        check_cluster,
        check_local,
        driver_lock,
        init_ray,
        packing_estimate,
        ray_temp_dir,
        resolve_address,
    )
    from rudratune.search.record import (
        STUDY_DB,
        STUDY_JOURNAL,
        RungDecision,
        SweepRecord,
        decision_line,
        grace_text,
        load_decodings,
        load_record,
        load_study,
        record_for,
        save_decodings,
        sweep_rungs,
    )
    from rudratune.search.results import (
        FIXED,
        PICK_RULES,
        TrialEnding,
        TrialRow,
        choose,
        live_rows,
        pareto_front,
        ranked,
        read_results,
        write_results,
    )
    from rudratune.search.space import (
        DISTRIBUTIONS,
        MIN_TRIALS,
        Param,
        Resources,
        Sweep,
        SweepSettings,
        TrialSchedulerSettings,
        load_sweep,
        sweep_warnings,
    )

_EXPORTS = {
    "Param": "rudratune.search.space",
    "Sweep": "rudratune.search.space",
    "SweepSettings": "rudratune.search.space",
    "TrialSchedulerSettings": "rudratune.search.space",
    "Resources": "rudratune.search.space",
    "MIN_TRIALS": "rudratune.search.space",
    "load_sweep": "rudratune.search.space",
    "sweep_warnings": "rudratune.search.space",
    "DISTRIBUTIONS": "rudratune.search.space",
    "SweepRecord": "rudratune.search.record",
    "RungDecision": "rudratune.search.record",
    "load_record": "rudratune.search.record",
    "load_decodings": "rudratune.search.record",
    "save_decodings": "rudratune.search.record",
    "record_for": "rudratune.search.record",
    "decision_line": "rudratune.search.record",
    "grace_text": "rudratune.search.record",
    "sweep_rungs": "rudratune.search.record",
    "TrialRow": "rudratune.search.results",
    "TrialEnding": "rudratune.search.results",
    "FIXED": "rudratune.search.results",
    "live_rows": "rudratune.search.results",
    "PICK_RULES": "rudratune.search.results",
    "choose": "rudratune.search.results",
    "ranked": "rudratune.search.results",
    "pareto_front": "rudratune.search.results",
    "read_results": "rudratune.search.results",
    "write_results": "rudratune.search.results",
    "STUDY_DB": "rudratune.search.record",
    "STUDY_JOURNAL": "rudratune.search.record",
    "load_study": "rudratune.search.record",
    "check_address": "rudratune.search.placement",
    "check_cluster": "rudratune.search.placement",
    "check_local": "rudratune.search.placement",
    "driver_lock": "rudratune.search.placement",
    "init_ray": "rudratune.search.placement",
    "ray_temp_dir": "rudratune.search.placement",
    "packing_estimate": "rudratune.search.placement",
    "resolve_address": "rudratune.search.placement",
    "Ending": "rudratune.search.driver",
    "SweepSummary": "rudratune.search.driver",
    "describe": "rudratune.search.driver",
    "dry_run": "rudratune.search.driver",
    "execute": "rudratune.search.driver",
    "finish": "rudratune.search.driver",
    "load_sweep_data": "rudratune.search.driver",
    "record_data": "rudratune.search.driver",
    "check_data": "rudratune.search.driver",
}
__all__ = [
    "DISTRIBUTIONS",
    "Ending",
    "FIXED",
    "MIN_TRIALS",
    "PICK_RULES",
    "Param",
    "Resources",
    "RungDecision",
    "STUDY_DB",
    "STUDY_JOURNAL",
    "Sweep",
    "SweepRecord",
    "SweepSettings",
    "SweepSummary",
    "TrialEnding",
    "TrialRow",
    "TrialSchedulerSettings",
    "check_address",
    "check_cluster",
    "check_data",
    "check_local",
    "choose",
    "decision_line",
    "describe",
    "driver_lock",
    "dry_run",
    "execute",
    "finish",
    "grace_text",
    "init_ray",
    "ray_temp_dir",
    "live_rows",
    "load_decodings",
    "load_record",
    "load_study",
    "load_sweep",
    "load_sweep_data",
    "packing_estimate",
    "pareto_front",
    "ranked",
    "read_results",
    "record_data",
    "record_for",
    "resolve_address",
    "save_decodings",
    "sweep_rungs",
    "sweep_warnings",
    "write_results",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rudratune.search' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
