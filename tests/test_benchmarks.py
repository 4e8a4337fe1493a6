"""The benchmark suite still runs: ``experiments/benchmarks/run.py --smoke`` end to end, every figure written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, TEST_ENV, TEST_ENV_DROP

pytestmark = pytest.mark.bench  # not in CI: pytest -m bench (see pyproject.toml)

RUN = REPO / "experiments" / "benchmarks" / "run.py"
FIGURES = {
    "D0": ["D0 Otsu Dice, embedded test split", "D0 trained model / Otsu"],
    "P1": ["P1 train() / bare loop, fastest epoch", "P1 1-trial sweep / train command, wall time"],
    "P2": ["P2 cores busy while trials run"],
    "P3": [
        "P3 (b) fraction of the budget ASHA+TPE needs",
        "P3 seeds where ASHA+TPE's best val Dice beats",
        "P3 (c) median retrained test Dice",
    ],
    "P4": ["P4 start-up with reused actors", "P4 reused / fresh actors"],
    "P5": ["P5 driver overhead per trial", "P5 driver peak RSS"],
    "P7": [
        "P7 per-step overhead, train(), trackers off",
        "P7 per-epoch overhead, Tune trial, trackers off",
        "P7 bytes written per trial-epoch, checkpoint policy / every epoch",
    ],
    "P8": ["P8 tuned − default test Dice"],
    "P10": ["P10 peak RSS / images' own bytes", "P10 decode speed-up over the baseline"],
}


SMOKED = list(FIGURES)
"""Every benchmark but P9 (LCBench), whose own smoke test, ``tests/test_lcbench.py``, runs it: not twice."""


def test_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "report" / "BENCHMARKS.md"
    only = ["--only", ",".join([*SMOKED, "P6"])]
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    env.update(TEST_ENV)
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--smoke",
            *only,
            "--out",
            str(out),
            "--output-root",
            str(tmp_path / "outputs"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    text = out.read_text()
    assert "failed to run" not in text
    for bench_id in SMOKED:
        for name in FIGURES[bench_id]:
            # the summary row: | id | figure | value | goal | goal met |, with a measured value
            row = re.search(rf"^\| {bench_id} \| {re.escape(name)}[^|]*\| ([^|]+)\|", text, re.MULTILINE)
            assert row, f"no summary row for {name!r}"
            assert re.match(r"\s*(-?[0-9.]+|not reached)", row.group(1)), row.group(0)
            assert f"- **{name}" in text, f"no sentence for {name!r}"
    if "yes" in re.search(r"GPU: (\w+)", text).group(1):
        assert "P6 best packing" in text
    else:
        assert "P6 GPU packing skipped: `torch.cuda.is_available()` is False" in text
    pngs = ["p3_search_efficiency.png", "p8_tuned_vs_default.png"]
    for png in pngs:
        assert (out.parent / "figures" / png).stat().st_size > 0
        assert f"](figures/{png})" in text
    assert "CPU: " in text and "torch " in text and "Load average" in text
