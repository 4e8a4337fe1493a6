"""Issue 21: sweeps started together on a new output root create one MLflow store; none dies in MLflow's schema
migration (real processes, a real sqlite store)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO, TEST_ENV

RACER = """
import sys, time
from pathlib import Path
from rudratune.tracking.common import ensure_mlflow_experiment
root, go = Path(sys.argv[1]), Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(ensure_mlflow_experiment(f"sqlite:///{root / 'mlflow.db'}", "rudratune", root))
"""


def test_processes_creating_one_new_store_at_once_all_get_the_experiment(tmp_path: Path) -> None:
    root, go = tmp_path / "runs", tmp_path / "go"
    root.mkdir()
    env = {**os.environ, **TEST_ENV, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(root), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    import time

    time.sleep(8)  # every racer has imported mlflow and waits for the start file
    go.touch()
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-2000:] for _, err in outcomes]
    assert len({out.strip() for out, _ in outcomes}) == 1  # one experiment, the same id for all
    assert sorted(p.name for p in root.iterdir()) == ["mlflow.db"]  # no lock file left beside it
