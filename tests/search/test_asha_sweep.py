"""A real sweep with ``grace_period: auto``: Tune drives the measured scheduler, the summary says what it placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudratune.search.record import RungDecision
from rudratune.search.space import MIN_TRIALS
from tests.helpers import cli, read_rows, replayed_asha, tiny_space, trial_histories

pytestmark = pytest.mark.slow


def test_a_measured_sweep_places_its_rung_after_six_full_trials(
    tmp_path: Path, tiny_data: Path, out: Path
) -> None:
    # one trial at a time: results reach the scheduler in trial order, so its decisions can be replayed
    space = tiny_space(
        tmp_path, tiny_data, num_samples=8, epochs=3, max_concurrent=1, grace_period="auto", log_models=False
    )
    result = cli("--output-root", str(out), "run", str(space), "--name", "auto", "--no-report")
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = out / "auto"
    decision = RungDecision.read(run_dir)
    assert decision is not None and decision.after_trials == MIN_TRIALS
    assert set(decision.spearman) == {1, 2}
    grace = decision.grace_period
    rungs = [] if grace is None else [r for r in (grace, grace * 2) if r < 3]  # reduction 2, max_t 3
    line = next(s for s in result.stdout.splitlines() if s.startswith("ASHA"))
    assert (f"ASHA's first rung: epoch {grace}" if grace else "ASHA stopped nothing") in line

    histories = trial_histories(run_dir)
    expected = replayed_asha(histories, rungs, 2, 3, judged_after=MIN_TRIALS)
    assert {r["trial_id"]: r["reason"] for r in read_rows(run_dir)} == expected
    assert all(len(values) == 3 for _, values in histories[:MIN_TRIALS])  # nothing stopped before the rung
