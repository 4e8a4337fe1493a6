"""Issue 21, the driver's faults that need no sweep: a space that varies the trackers, checks that stopped
short (5,000 combinations, a grid materialised), data changed before a resume. Each exits 2 with one line and
writes nothing. In-process, like ``test_bad_inputs_b``."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from rudratune.data.synth import write_dataset
from tests.commands.test_bad_inputs_b import Case, run_case, space
from tests.helpers import REPO, files_under

MANY = "\n".join(
    f"  {k}: {{values: [{', '.join(str(v) for v in range(1, 11))}]}}" for k in ("seed", "data.batch_size")
)
LRS = ", ".join(f"{i}.0e-4" for i in range(1, 11))
GRID = "\n".join(
    f"  {k}: {{grid: [{', '.join(str(v) for v in vals)}]}}"
    for k, vals in (
        ("seed", range(100)),
        ("data.batch_size", range(1, 101)),
        ("trainer.max_epochs", range(1, 101)),
        ("optimizer.weight_decay", [i / 1000 for i in range(100)]),
    )
)

CASES = [
    Case(
        "tracking key in a space",
        lambda t: ["run", space(t, "space:\n  tracking.experiment: {values: [a, b]}\n"), "--dry-run"],
        "{tmp}/space.yaml: space.tracking.experiment: a space cannot vary where or how the sweep logs "
        "(tracking.* is the sweep's, not a trial's); valid: set tracking.experiment in the experiment YAML or "
        "as an override (tracking.experiment=...)",
    ),
    Case(
        "model that cannot build beyond 5000 combinations",
        lambda t: [
            "run",
            space(
                t,
                f"space:\n{MANY}\n  optimizer.lr: {{values: [{LRS}]}}\n  optimizer.weight_decay: "
                f"{{values: [{LRS}]}}\n  data.image_size: {{value: 32}}\n  model.name: {{values: [smp.Unet, smp.PAN]}}\n",
            ),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space: data.image_size: smp.PAN needs data.image_size >= 128, got 32 (with "
        "model.name=smp.PAN)",
    ),
    Case(
        "grid of 10^8 points",
        lambda t: ["run", space(t, f"space:\n{GRID}\n"), "--dry-run"],
        "{tmp}/space.yaml: space: the grid has 100,000,000 points (100 (seed) x 100 (data.batch_size) x 100 "
        "(trainer.max_epochs) x 100 (optimizer.weight_decay)), more than 10,000; valid: at most 10,000 (fewer "
        "grid values, or values: / a distribution, which the searcher samples)",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.name) for c in CASES])
def test_driver_fault(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    out.mkdir()
    scratch.mkdir()
    args = case.args(scratch)
    before = files_under(out), files_under(scratch)
    start = time.perf_counter()
    code, lines = run_case(args, out, capsys)
    assert code == 2, lines
    assert len(lines) == 1, lines
    expected = "rudratune: error: " + case.message.replace("{tmp}", str(scratch))
    assert lines[0].startswith(expected), f"{lines[0]}\n!= {expected}"
    assert (files_under(out), files_under(scratch)) == before  # nothing written
    assert time.perf_counter() - start < 60  # nothing as large as the product was built


def test_catalogue_is_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for case in CASES:
        assert f"| {case.name} |" in doc, case.name
    assert "| data changed before resume |" in doc


def test_resume_refuses_data_that_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The sweep recorded its data's digest when it started (``data.json``); other data in the same folder
    is refused in one line naming the folder and both digests, before Ray starts."""
    from rudratune.search.driver.datasets import load_sweep_data, record_data
    from rudratune.search.record import record_for
    from rudratune.search.space import load_sweep

    data = write_dataset(tmp_path / "data", n=12, size=32, seed=1)
    sweep = load_sweep(
        space(tmp_path, f"space:\n  data.root: {{value: {data}}}\n  data.image_size: {{value: 32}}\n")
    )
    run_dir = tmp_path / "runs" / "s1"
    run_dir.mkdir(parents=True)
    record_for(run_dir, sweep, storage=None, output_root=tmp_path / "runs").save()
    record_data(run_dir, load_sweep_data(sweep, tmp_path / "runs"))
    was = (run_dir / "data.json").read_text()
    other = write_dataset(tmp_path / "other", n=12, size=32, seed=2)
    for image in (other / "images").iterdir():  # new pixels under the same names
        shutil.copyfile(image, data / "images" / image.name)
    before = files_under(tmp_path / "runs")
    code, lines = run_case(
        ["--output-root", str(tmp_path / "runs"), "resume", str(run_dir)], tmp_path, capsys
    )
    assert code == 2 and len(lines) == 1, lines
    old = next(iter(json.loads(was).values()))
    assert lines[0].startswith(
        f"rudratune: error: {run_dir}: the data in {data} changed since the sweep started (digest {old}, now "
    )
    assert lines[0].endswith(
        "; valid: restore that data to resume, or start a new sweep with `rudratune run`"
    )
    assert files_under(tmp_path / "runs") == before
