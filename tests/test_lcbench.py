"""The LCBench surrogate reader (experiments/benchmarks/lcbench_surrogate.py) against yahpo-gym's own outputs.

``lcbench_reference.json`` holds what yahpo-gym 1.0.2's ``BenchmarkSet('lcbench').objective_function``
returned for 5 configurations x 4 instances x 4 epochs (written by ``lcbench_reference.py`` in yahpo-gym's
own environment). Reading ``model.onnx`` with onnxruntime and our encoding must give the same numbers.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.helpers import REPO

BENCH = REPO / "experiments" / "benchmarks"
sys.path.insert(0, str(BENCH))

import lcbench_surrogate as lcb  # noqa: E402

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
