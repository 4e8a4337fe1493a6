"""A results.json written by the version before TrialRow (flat dicts with status, reason and ending) still
loads: in the store, and through ``show``, ``export`` and ``report`` run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rudratune.search.record import record_for
from rudratune.search.results import TrialEnding, read_results
from rudratune.search.space import load_sweep
from tests.helpers import REPO, cli

# two rows exactly as rudratune 0.1.0 (commit 2edda2d) wrote them: its FIXED keys, the space's parameters
# ("" where inactive), the ending, the failed trial's reason with its error line
OLD_ROWS = [
    {
        "trial_id": "aaaa_00001",
        "status": "TERMINATED",
        "reason": "completed 4 epochs",
        "ending": "completed",
        "epochs": 4,
        "error": "",
        "checkpoint": "",
        "trial_dir": "/nowhere/run_trial_aaaa_00001",
        "torch_threads": 1,
        "params_m": 14.3,
        "latency_ms": 3.2,
        "best_epoch": 3,
        "best_val_loss": 0.31,
        "last_val_loss": 0.33,
        "best_val_dice": 0.71,
        "last_val_dice": 0.70,
        "best_val_iou": 0.55,
        "last_val_iou": 0.54,
        "best_val_ref_loss": 0.4,
        "last_val_ref_loss": 0.41,
        "feasible": True,
        "violation": "",
    },
    {
        "trial_id": "aaaa_00002",
        "status": "ERROR",
        "reason": "failed in epoch 2: RuntimeError: boom",
        "ending": "failed",
        "epochs": 1,
        "error": "RuntimeError: boom",
        "checkpoint": "",
        "trial_dir": "/nowhere/run_trial_aaaa_00002",
        "torch_threads": 1,
        "feasible": True,
        "violation": "",
    },
]


@pytest.mark.slow  # three commands in subprocesses, the report's imports among them
def test_a_results_json_of_the_previous_version_loads_in_show_export_and_report(tmp_path: Path) -> None:
    sweep = load_sweep(REPO / "search_spaces" / "quickstart.yaml")
    run_dir = tmp_path / "old"
    run_dir.mkdir()
    record = record_for(run_dir, sweep, storage=None, output_root=tmp_path)
    record.save()
    params = {k: "" for k in sweep.order} | {"optimizer.lr": 0.003}
    (run_dir / "results.json").write_text(json.dumps([{**r, **params} for r in OLD_ROWS], indent=1))

    rows = read_results(run_dir, sweep.order)
    assert [r.ending for r in rows] == [TrialEnding.COMPLETED, TrialEnding.FAILED]
    assert rows[0].best["val_dice"] == 0.71 and rows[0].params == {"optimizer.lr": 0.003}
    assert rows[1].error == "RuntimeError: boom" and rows[1].status == "ERROR"

    shown = cli("--output-root", str(tmp_path), "show", str(run_dir), "--json")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["best"]["trial_id"] == "aaaa_00001" and len(summary["trials"]) == 2

    out = tmp_path / "best.yaml"
    exported = cli("--output-root", str(tmp_path), "export", str(run_dir), "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    provenance = yaml.safe_load(out.read_text())["provenance"]
    assert provenance["trial_id"] == "aaaa_00001" and provenance["best_val_dice"] == 0.71

    report = cli("--output-root", str(tmp_path), "report", str(run_dir))
    assert report.returncode == 0, report.stderr
    assert "aaaa_00002" in (run_dir / "report.html").read_text()  # the failed trial is in its table
