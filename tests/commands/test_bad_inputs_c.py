"""Third probe (numbers, loss parameters, ...): each case exits 2 with one line naming the file, the key and
the valid values, and writes nothing under the output root. Runs in-process like ``test_bad_inputs_b``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.test_bad_inputs_b import TRAIN, Case, record, run_case, space
from tests.helpers import EXPERIMENT, REPO, files_under

FOCAL = [*TRAIN, "loss.name=DiceFocalLoss"]
PACKAGE = REPO / "rudratune"


def a_file(tmp: Path) -> str:
    (tmp / "runs").write_text("")
    return str(tmp / "runs")


def self_space(tmp: Path) -> str:
    (tmp / "self.yaml").write_text("experiment: self.yaml\n")
    return str(tmp / "self.yaml")


CASES = [
    Case(
        "output root that is a file",
        lambda t: ["--output-root", a_file(t), *TRAIN],
        "--output-root: {tmp}/runs is a file; valid: a folder (existing or new)",
    ),
    Case(
        "empty output root",
        lambda t: ["--output-root", "", *TRAIN],
        "--output-root (or $RUDRATUNE_OUTPUT_ROOT): empty; valid: a folder, e.g. runs (the default)",
    ),
    Case(
        "output root inside the package",
        lambda t: ["--output-root", str(PACKAGE), *TRAIN],
        f"--output-root: {PACKAGE} is inside rudratune's own source folder {PACKAGE}; valid: a folder outside "
        "it, e.g. runs (the default)",
    ),
    Case(
        "infinite max of a distribution",
        lambda t: ["run", space(t, "space:\n  optimizer.lr: {distribution: uniform, min: 0.1, max: .inf}\n")],
        "{tmp}/space.yaml: space.optimizer.lr.max: Input should be a finite number (got inf)",
    ),
    Case(
        "range that overflows",
        lambda t: [
            "run",
            space(t, "space:\n  loss.gamma: {distribution: uniform, min: -1.0e+308, max: 1.0e+308}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.loss.gamma: max - min overflows (1e+308 - -1e+308); valid: a finite range",
    ),
    Case(
        "step larger than the range",
        lambda t: [
            "run",
            space(t, "space:\n  optimizer.lr: {distribution: q_uniform, min: 0.001, max: 0.01, q: 5}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.optimizer.lr: step q (5.0) is larger than max - min (0.009), so every draw "
        "would be min; valid: 0 < q <= max - min",
    ),
    Case(
        "infinite time budget",
        lambda t: ["run", space(t, "search: {time_budget_s: .inf}\n"), "--dry-run"],
        "{tmp}/space.yaml: search.time_budget_s: Input should be a finite number (got inf)",
    ),
    Case(
        "negative searcher seed",
        lambda t: ["run", space(t, "search: {searcher: {seed: -1}}\n"), "--dry-run"],
        "{tmp}/space.yaml: search.searcher.seed: Input should be greater than or equal to 0 (got -1)",
    ),
    Case(
        "when with no value",
        lambda t: [
            "run",
            space(
                t,
                "space:\n  loss.name: {values: [DiceLoss, DiceFocalLoss]}\n"
                "  loss.gamma: {values: [1, 2], when: {loss.name: []}}\n",
            ),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.loss.gamma.when: loss.name: [] matches no value, so loss.gamma would never be "
        "drawn; valid: some of ['DiceLoss', 'DiceFocalLoss'], or drop the when",
    ),
    Case(
        "space whose experiment is a space",
        lambda t: ["run", self_space(t), "--dry-run"],
        "{tmp}/self.yaml: experiment: {tmp}/self.yaml is a search space (it has its own experiment: key); "
        "valid: an experiment YAML such as experiments/rudraksha.yaml",
    ),
    Case(
        "override of a space entry",
        lambda t: ["run", space(t, "space: {}\n"), "space.optimizer.lr.min=5", "--dry-run"],
        "{tmp}/space.yaml (command line): 'space.optimizer.lr.min=5': a space entry cannot be changed by an "
        "override (its key holds dots, e.g. optimizer.lr); valid: edit {tmp}/space.yaml, or space={...} for a "
        "whole new space",
    ),
    Case(
        "negative GPU share",
        lambda t: ["run", space(t, "space: {}\n"), "resources.gpu=-1", "--dry-run"],
        "{tmp}/space.yaml: resources.gpu: Input should be greater than or equal to 0 (got -1)",
    ),
    Case(
        "too many dry-run samples",
        lambda t: ["run", space(t, "space: {}\n"), "--dry-run", "--dry-run-samples", "100000"],
        "--dry-run-samples: at most 1000, got 100000; valid: 1 to 1000",
    ),
    Case(
        "empty MLflow experiment",
        lambda t: [*TRAIN, "tracking.experiment="],
        f"{EXPERIMENT}: tracking.experiment: empty; valid: an MLflow experiment name, e.g. rudratune",
    ),
    Case(
        "sweep named like the output root's own folders",
        lambda t: ["run", space(t, "space: {}\n"), "--name", "mlflow.db"],
        "--name: 'mlflow.db' is where the output root keeps the MLflow store; valid: any other name",
    ),
    Case(
        "export to a quoted ~ path",
        lambda t: ["export", record(t), "-o", "~/no-such-folder-rudratune/best.yaml"],
        f"-o: folder {Path('~/no-such-folder-rudratune').expanduser()} does not exist",
    ),
    Case(
        "export to a name with a newline",
        lambda t: ["export", record(t), "-o", f"{t}/new\nline.yaml"],
        "-o: '{tmp}/new\\nline.yaml' holds a control character (newline, tab, ...); valid: a plain file name",
    ),
    Case(
        "infinite learning rate",
        lambda t: [*TRAIN, "optimizer.lr=inf"],
        f"{EXPERIMENT}: optimizer.lr: Input should be a finite number (got inf)",
    ),
    Case(
        "negative seed",
        lambda t: [*TRAIN, "seed=-1"],
        f"{EXPERIMENT}: seed: Input should be greater than or equal to 0 (got -1)",
    ),
    Case(
        "seed above 32 bits",
        lambda t: [*TRAIN, "seed=4294967296"],
        f"{EXPERIMENT}: seed: Input should be less than or equal to 4294967295 (got 4294967296)",
    ),
    Case(
        "true as a number",
        lambda t: [*TRAIN, "data.batch_size=true"],
        f"{EXPERIMENT}: data.batch_size: got True, a true/false; valid: a whole number",
    ),
    Case(
        "text as a loss parameter",
        lambda t: [*FOCAL, "loss.gamma=abc"],
        f"{EXPERIMENT}: loss.gamma: got 'abc'; valid: a finite number >= 0, or null",
    ),
    Case(
        "infinite loss parameter",
        lambda t: [*FOCAL, "loss.gamma=inf"],
        f"{EXPERIMENT}: loss.gamma: got inf; valid: a finite number >= 0, or null",
    ),
    Case(
        "unknown loss weighting",
        lambda t: [*TRAIN, "loss.w_type=cube"],
        f"{EXPERIMENT}: loss.w_type: got 'cube'; valid: square, simple, uniform",
    ),
    Case(
        "text as a loss parameter in a space",
        lambda t: [
            "run",
            space(t, "space:\n  loss.name: {value: DiceFocalLoss}\n  loss.gamma: {values: [abc]}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space: loss.gamma: got 'abc'; valid: a finite number >= 0, or null (with "
        "loss.gamma=abc)",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.name) for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    out.mkdir()
    scratch.mkdir()
    args = case.args(scratch)
    before = files_under(out), files_under(scratch)
    code, lines = run_case(args, out, capsys)
    assert code == 2, lines
    assert len(lines) == 1, lines
    expected = "rudratune: error: " + case.message.replace("{tmp}", str(scratch))
    assert lines[0] == expected or lines[0].startswith(expected), f"{lines[0]}\n!= {expected}"
    assert (files_under(out), files_under(scratch)) == before  # nothing written


def test_catalogue_is_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for case in CASES:
        assert f"| {case.name} |" in doc, case.name


@pytest.mark.parametrize(
    "overrides",
    [
        ["loss.name=DiceFocalLoss", "loss.gamma=2"],
        ["loss.name=FocalLoss", "loss.alpha=null"],
        ["loss.name=FocalLoss", "loss.alpha=0.25"],
        ["loss.name=LovaszLoss", "loss.per_image=true"],
        ["loss.name=GeneralizedDiceLoss", "loss.w_type=simple"],
        ["seed=0", "trainer.deterministic=false", "trainer.threads=1", "optimizer.lr=1"],
    ],
)
def test_valid_values_still_load(overrides: list[str]) -> None:
    from rudratune.config.experiment import load_experiment

    load_experiment(EXPERIMENT, overrides)


def test_refused_data_leaves_no_output_root(
    tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The output root is made before the data folder is read; a refused folder must not leave it behind
    (it did, empty, for every data error), while a root that existed before stays."""
    from PIL import Image

    root = tmp_path / "data"
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
        for path in sorted((tiny_data / sub).iterdir())[:6]:
            (root / sub / path.name).write_bytes(path.read_bytes())
    first = sorted((root / "masks").iterdir())[0]
    Image.open(first).resize((5, 7)).save(first)
    out = tmp_path / "new" / "out"
    code, lines = run_case(["--output-root", str(out), *TRAIN, f"data.root={root}"], out, capsys)
    assert code == 2 and len(lines) == 1 and "size mismatch" in lines[0], lines
    assert not (tmp_path / "new").exists()
    out.mkdir(parents=True)
    code, lines = run_case(["--output-root", str(out), *TRAIN, f"data.root={root}"], out, capsys)
    assert code == 2 and out.is_dir() and files_under(out) == set()


ENV_CASES = [
    (
        "MLflow URI that is a path",
        {"MLFLOW_TRACKING_URI": "garbage"},
        ["tracking.wandb=false"],
        "$MLFLOW_TRACKING_URI: 'garbage' is a file store path, which MLflow refuses; valid: sqlite:///<path>.db, "
        "http(s)://host:port, postgresql://…, mysql://…, mssql://… (or MLFLOW_ALLOW_FILE_STORE=true "
        "for a file store)",
    ),
    (
        "MLflow URI of an unknown scheme",
        {},
        ["tracking.wandb=false", "tracking.mlflow_uri=ftp://u:pw@x/y"],
        "tracking.mlflow_uri: 'ftp://***@x/y' is of scheme 'ftp', which MLflow has no store for; valid: ",
    ),
    (
        "unknown WANDB_MODE",
        {"WANDB_MODE": "bogus"},
        ["tracking.mlflow=false"],
        "$WANDB_MODE: got 'bogus'; valid: online, offline, disabled, dryrun, shared, run (or unset it)",
    ),
]


@pytest.mark.parametrize(("name", "env", "overrides", "message"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_bad_environment(
    name: str,
    env: dict[str, str],
    overrides: list[str],
    message: str,
    tmp_path: Path,
    tiny_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Used to end after the run folder was made: a traceback (W&B) or MLflow's paragraph."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    code, lines = run_case(
        ["--output-root", str(out), *TRAIN, f"data.root={tiny_data}", *overrides], out, capsys
    )
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("rudratune: error: " + message), lines[0]
    assert "pw" not in lines[0] and not out.exists()


def test_environment_cases_are_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for name, *_ in ENV_CASES:
        assert f"| {name} |" in doc, name


def test_resume_of_a_running_sweep_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing stopped a second driver (a second Tuner on the same experiment folder) while the first ran."""
    from rudratune.search.placement import driver_lock

    run_dir = Path(record(tmp_path))
    before = files_under(tmp_path)
    with driver_lock(run_dir):  # what `rudratune run` holds while it drives the sweep
        code, lines = run_case(["resume", str(run_dir)], tmp_path / "out", capsys)
    assert code == 2 and lines == [
        f"rudratune: error: {run_dir}: sweep s1 is running (another rudratune process drives it); "
        f"valid: `rudratune show {run_dir}` while it runs, resume after it stopped"
    ]
    assert files_under(tmp_path) == before
    with driver_lock(run_dir):  # released when its holder is done (the kernel does it on kill -9)
        pass
