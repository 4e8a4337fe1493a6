"""The LCBench surrogate reader (experiments/benchmarks/lcbench_surrogate.py) against yahpo-gym's own outputs.

``lcbench_reference.json`` holds what yahpo-gym 1.0.2's ``BenchmarkSet('lcbench').objective_function``
returned for 5 configurations x 4 instances x 4 epochs (written by ``lcbench_reference.py`` in yahpo-gym's
own environment). Reading ``model.onnx`` with onnxruntime and our encoding must give the same numbers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

BENCH = REPO / "experiments" / "benchmarks"
sys.path.insert(0, str(BENCH))

import lcbench_surrogate as lcb  # noqa: E402
import p9_lcbench as p9  # noqa: E402

DATA = lcb.default_data_dir()
REFERENCE = json.loads((BENCH / "lcbench_reference.json").read_text())["cases"]

pytestmark = [
    pytest.mark.skipif(
        not lcb.onnxruntime_available(),
        reason="onnxruntime is not installed (it is optional: pip install -e '.[bench]')",
    ),
    pytest.mark.skipif(
        not (DATA / "lcbench" / "model.onnx").is_file(),
        reason=f"no YAHPO Gym LCBench data at {DATA} (set ${lcb.DATA_ENV} to the yahpo data folder)",
    ),
]


@pytest.fixture(scope="module")
def bench() -> lcb.LCBench:
    return lcb.LCBench(DATA)


def test_every_target_matches_yahpo_gym(bench: lcb.LCBench) -> None:
    got = bench.predict([case["x"] for case in REFERENCE])
    assert len(REFERENCE) == 80
    for case, y in zip(REFERENCE, got, strict=True):
        for name in lcb.Y_NAMES:
            assert y[name] == pytest.approx(case["y"][name], rel=1e-5, abs=1e-5), (case["x"], name)


def test_the_encoding_is_what_changes_the_output(bench: lcb.LCBench) -> None:
    """A wrong instance code or a wrong column order would not match: the check above has power."""
    case = next(c for c in REFERENCE if c["x"]["epoch"] == 52 and c["x"]["OpenML_task_id"] == "167168")
    other = bench.predict([{**case["x"], "OpenML_task_id": "189873"}])[0]["val_accuracy"]
    swapped = bench.predict(
        [{**case["x"], "momentum": case["x"]["max_dropout"], "max_dropout": case["x"]["momentum"]}]
    )
    assert abs(other - case["y"]["val_accuracy"]) > 0.5
    assert abs(swapped[0]["val_accuracy"] - case["y"]["val_accuracy"]) > 1e-3


def test_curve_is_val_accuracy_per_epoch(bench: lcb.LCBench) -> None:
    config = {k: v for k, v in REFERENCE[0]["x"].items() if k in lcb.HYPERPARAMETERS}
    curve = bench.curve(config, "167168")
    assert len(curve) == lcb.MAX_EPOCH
    for case in REFERENCE[:4]:  # the default config on 167168 at epochs 1, 3, 13, 52
        assert case["x"]["OpenML_task_id"] == "167168"
        assert curve[case["x"]["epoch"] - 1] == pytest.approx(case["y"]["val_accuracy"], rel=1e-5)


def test_target_range_and_regret() -> None:
    r = lcb.target_range(DATA, "167168")
    assert (r.lo, r.hi) == pytest.approx((14.945163, 87.94883))
    assert r.regret(r.hi) == 0.0 and r.regret(r.lo) == 1.0
    with pytest.raises(ValueError, match="no lcbench min and max"):
        lcb.target_range(DATA, "1")


def test_unknown_instance_is_refused(bench: lcb.LCBench) -> None:
    with pytest.raises(ValueError, match="unknown LCBench instance"):
        bench.curve({k: 1 for k in lcb.HYPERPARAMETERS}, "999")


@pytest.mark.bench
def test_p9_smoke_runs_every_arm_through_rudratune(tmp_path: Path) -> None:
    """``p9_lcbench.py --smoke`` (what CI runs): every arm, its table, its figure, the measured rung's file."""
    import os
    import subprocess

    from tests.helpers import TEST_ENV, TEST_ENV_DROP

    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    env.update(TEST_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    out = tmp_path / "report" / "p9.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "p9_lcbench.py"), "--smoke", "--output-root", str(tmp_path / "runs")]
        + ["--out", str(out), "--json", str(tmp_path / "p9.json")],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    runs = [json.loads(line) for line in (tmp_path / "runs" / "runs.jsonl").read_text().splitlines()]
    assert sorted(r["arm"] for r in runs) == sorted(p9.ARMS)
    for r in runs:
        assert len(r["best"]) == p9.SMOKE_BUDGET and r["best"] == sorted(r["best"])
    default = next(r for r in runs if r["arm"] == p9.DEFAULT)
    assert default["rung_decided"], "the measured rung was never placed in the smoke run"
    rungs_files = list((tmp_path / "runs" / "sweeps").glob("default-*/rungs.json"))
    assert len(rungs_files) == 1
    text = out.read_text()
    for arm in p9.ARMS:
        assert f"| 167168 | {arm} | 1 |" in text
    assert "- Goal random / default" in text and "regret normalised by" in text
    assert (out.parent / "figures" / p9.PNG).stat().st_size > 0
    assert set(json.loads((tmp_path / "p9.json").read_text())["goals"]) >= {"ratio", "reach", "vs_fifo"}
