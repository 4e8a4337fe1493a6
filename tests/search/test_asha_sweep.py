"""A real sweep with ``grace_period: auto``: Tune drives the measured scheduler, the summary says what it placed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rudratune.search.rungs import MIN_TRIALS, read_decision
from tests.helpers import cli, read_rows, tiny_space

pytestmark = pytest.mark.slow


def test_a_measured_sweep_places_its_rung_after_six_full_trials(
    tmp_path: Path, tiny_data: Path, out: Path
) -> None:
    # one trial at a time: results reach the scheduler in trial order, so its decisions can be replayed
    space = tiny_space(tmp_path, tiny_data, num_samples=8, epochs=3, max_concurrent=1, grace_period="auto")
    result = cli("--output-root", str(out), "run", str(space), "--name", "auto", "--no-report")
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = out / "auto"
    decision = read_decision(run_dir)
    assert decision is not None and decision["after_trials"] == MIN_TRIALS
    assert set(decision["spearman"]) == {"1", "2"}
    grace = decision["grace_period"]
    rungs = [] if grace is None else [r for r in (grace, grace * 2) if r < 3]  # reduction 2, max_t 3
    line = next(s for s in result.stdout.splitlines() if s.startswith("ASHA"))
    assert (f"ASHA's first rung: epoch {grace}" if grace else "ASHA stopped nothing") in line

    histories = {}
    for result_json in run_dir.glob("*/result.json"):
        reported = [json.loads(s) for s in result_json.read_text().splitlines() if s.strip()]
        index = int(re.search(r"run_trial_\w{8}_(\d+)_", result_json.parent.name)[1])
        histories[index] = (reported[0]["trial_id"], [r["rank_val_dice"] for r in reported])
    recorded: dict[int, list[float]] = {r: [] for r in rungs}
    expected = {}
    for index in sorted(histories):
        trial_id, values = histories[index]
        reason = "completed 3 epochs"
        for rung in rungs:
            cut = np.percentile(recorded[rung], 50) if recorded[rung] and index > MIN_TRIALS else None
            recorded[rung].append(values[rung - 1])
            if cut is not None and values[rung - 1] < cut:
                reason = f"stopped by ASHA at epoch {rung}"
                break
        expected[trial_id] = reason
    assert {r["trial_id"]: r["reason"] for r in read_rows(run_dir)} == expected
    first_six = sorted(histories)[:MIN_TRIALS]
    assert all(len(histories[i][1]) == 3 for i in first_six)  # nothing stopped before the rung was placed
