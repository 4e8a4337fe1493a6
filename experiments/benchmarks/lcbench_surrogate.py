"""LCBench's YAHPO Gym surrogate (``lcbench/model.onnx``) read with onnxruntime directly, without yahpo-gym.

yahpo-gym 1.0.2 pins numpy < 2 and ConfigSpace <= 0.6.1, so this module does what its
``BenchmarkSet.objective_function`` does for the ``lcbench`` scenario (yahpo_gym/benchmark_set.py,
``_config_to_xs``; yahpo_gym/benchmarks/lcbench.py):

- ``x_cat`` (int32, one column): the OpenML task id, integer-encoded by ``lcbench/encoding.json``
  (``{"OpenML_task_id": {"126025": 1, ...}}``; ``"#na#"`` is 0). The instance is this input.
- ``x_cont`` (float32, 8 columns, in yahpo's ``cont_names`` order): epoch (the fidelity, 1..52), batch_size,
  learning_rate, momentum, weight_decay, num_layers, max_units, max_dropout, as raw values. The log
  transforms and the scaling live inside the ONNX graph: yahpo-gym passes the raw values and so does this.
- the output (float32, 6 columns, yahpo's ``y_names`` order): time, val_accuracy (percent, 0..100),
  val_cross_entropy, val_balanced_accuracy, test_cross_entropy, test_balanced_accuracy.

``tests/test_lcbench.py`` checks this encoding against values that yahpo-gym itself produced
(``lcbench_reference.json``, written by ``lcbench_reference.py`` in yahpo-gym's own environment).

Needs ``onnxruntime`` (``pip install -e .[bench]``); the project's main dependencies do not include it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_EPOCH = 52
CONT_NAMES = (
    "epoch",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
)
"""yahpo-gym's ``cont_names`` for lcbench: the columns of ``x_cont``, in this order."""
Y_NAMES = (
    "time",
    "val_accuracy",
    "val_cross_entropy",
    "val_balanced_accuracy",
    "test_cross_entropy",
    "test_balanced_accuracy",
)
"""yahpo-gym's ``y_names`` for lcbench: the columns of the output, in this order."""
HYPERPARAMETERS = CONT_NAMES[1:]
"""The 7 hyperparameters a configuration sets (epoch is the fidelity, the task id the instance)."""
TASK = "OpenML_task_id"
ONNX_THREADS = 1
"""The surrogate is tiny (about 0.5 ms a query): one thread, so it never competes with the search."""


DATA_ENV = "RUDRATUNE_YAHPO_DATA"
"""Where the yahpo data folder is, when not at ``../shared/benchmarks/yahpo`` beside the repository."""


def default_data_dir() -> Path:
    """``$RUDRATUNE_YAHPO_DATA``, else ``../shared/benchmarks/yahpo`` beside the repository."""
    given = os.environ.get(DATA_ENV)
    return (
        Path(given)
        if given
        else Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "yahpo"
    )


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class TargetRange:
    """An instance's min and max val_accuracy over the LCBench data (``instance_target_statistics.csv``)."""

    lo: float
    hi: float

    def regret(self, best: float) -> float:
        """Normalised regret of a best-so-far val_accuracy: (max - best) / (max - min)."""
        return (self.hi - best) / (self.hi - self.lo)


def target_range(data_dir: Path, instance: str, metric: str = "val_accuracy") -> TargetRange:
    """The instance's min and max of ``metric`` in ``global_statistics/instance_target_statistics.csv``."""
    path = Path(data_dir) / "global_statistics" / "instance_target_statistics.csv"
    stats: dict[str, float] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["scenario"] == "lcbench" and row["instance"] == str(instance) and row["metric"] == metric:
                stats[row["statistic"]] = float(row["value"])
    if set(stats) != {"min", "max"}:
        raise ValueError(f"{path}: no lcbench min and max of {metric} for instance {instance}")
    return TargetRange(stats["min"], stats["max"])


class LCBench:
    """The LCBench surrogate: ``curve(config, instance)`` is val_accuracy at epochs 1..52.

    Args:
        data_dir: the yahpo data folder (holds ``lcbench/model.onnx`` and ``lcbench/encoding.json``).
    """

    def __init__(self, data_dir: Path) -> None:
        import onnxruntime as ort

        folder = Path(data_dir) / "lcbench"
        self.encoding: dict[str, int] = json.loads((folder / "encoding.json").read_text())[TASK]
        options = ort.SessionOptions()
        options.inter_op_num_threads = ONNX_THREADS
        options.intra_op_num_threads = ONNX_THREADS
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]  # x_cat, x_cont (yahpo passes them so)

    @property
    def instances(self) -> list[str]:
        return sorted((k for k in self.encoding if k != "#na#"), key=int)

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """``x_cat``, ``x_cont`` for rows that each hold the task id, the epoch and the 7 hyperparameters."""
        unknown = {str(r[TASK]) for r in rows} - set(self.encoding)
        if unknown:
            raise ValueError(
                f"unknown LCBench instance(s) {sorted(unknown)}; valid: {', '.join(self.instances)}"
            )
        x_cat = np.array([[self.encoding[str(r[TASK])]] for r in rows], dtype=np.int32)
        x_cont = np.array([[float(r[k]) for k in CONT_NAMES] for r in rows], dtype=np.float32)
        return x_cat, x_cont

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
        """Every target of yahpo's ``objective_function`` for each row."""
        x_cat, x_cont = self.encode(rows)
        out = self.session.run(None, {self.inputs[0]: x_cat, self.inputs[1]: x_cont})[0]
        return [dict(zip(Y_NAMES, map(float, y), strict=True)) for y in out]

    def curve(self, config: Mapping[str, Any], instance: str, epochs: int = MAX_EPOCH) -> list[float]:
        """val_accuracy (percent) after each of epochs 1..``epochs``: one batched query."""
        rows = [{**config, TASK: instance, "epoch": e} for e in range(1, epochs + 1)]
        return [y["val_accuracy"] for y in self.predict(rows)]
