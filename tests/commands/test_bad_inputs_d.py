"""Fourth probe (issue 21: plain mistakes that ended in a traceback or a hang): each case exits 2 with one
line naming the file, the key and the valid values, and writes nothing. Runs in-process like
``test_bad_inputs_c``."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from tests.commands.test_bad_inputs_b import TRAIN, Case, run_case, space
from tests.helpers import EXPERIMENT, REPO, files_under

LONG = "a" * 300
LONG_NAME = (
    f"'{'a' * 20}…' is 300 characters long; valid: at most 200 (it names a folder, and a folder name cannot "
    "exceed 255 bytes)"
)


def symlink_loop(tmp: Path) -> str:
    (tmp / "loop.yaml").symlink_to(tmp / "loop2.yaml")
    (tmp / "loop2.yaml").symlink_to(tmp / "loop.yaml")
    return str(tmp / "loop.yaml")


def fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "fifo.yaml")
    return str(tmp / "fifo.yaml")


def experiment_at(tmp: Path, target: str) -> str:
    (tmp / "space.yaml").write_text(f"experiment: {target}\nspace: {{}}\n")
    return str(tmp / "space.yaml")


def a_file(tmp: Path) -> str:
    (tmp / "taken").write_text("")
    return str(tmp / "taken")


NOT_REGULAR = "not a regular file (a device, FIFO or socket); valid: a YAML file"
SYNTH = ["data", "synth", "--n", "4", "--size", "32"]
CASES = [
    Case(
        "experiment name over 200 characters",
        lambda t: [*TRAIN, f"name={LONG}"],
        f"{EXPERIMENT}: name: {LONG_NAME}",
    ),
    Case(
        "sweep name over 200 characters",
        lambda t: ["run", space(t, "space: {}\n"), "--name", LONG],
        f"--name: {LONG_NAME}",
    ),
    Case(
        "W&B project over 128 characters",
        lambda t: [*TRAIN, f"tracking.wandb_project={'p' * 129}"],
        f"{EXPERIMENT}: tracking.wandb_project: '{'p' * 20}…' is 129 characters long; valid: at most 128 (W&B's "
        "limit)",
    ),
    Case(
        "config path that is a symlink loop",
        lambda t: ["train", symlink_loop(t)],
        "{tmp}/loop.yaml: cannot read (Too many levels of symbolic links)",
    ),
    Case(
        "config path too long",
        lambda t: ["train", f"{t}/{LONG}/x.yaml"],
        f"{{tmp}}/{LONG}/x.yaml: cannot read (File name too long)",
    ),
    Case(
        "experiment that is a device",
        lambda t: ["run", experiment_at(t, "/dev/zero"), "--dry-run"],
        f"/dev/zero: {NOT_REGULAR}",
    ),
    Case(
        "experiment that is a FIFO",
        lambda t: ["run", experiment_at(t, fifo(t)), "--dry-run"],
        f"{{tmp}}/fifo.yaml: {NOT_REGULAR}",
    ),
    Case("config that is a FIFO", lambda t: ["train", fifo(t)], f"{{tmp}}/fifo.yaml: {NOT_REGULAR}"),
    Case(
        "negative synthetic seed",
        lambda t: [*SYNTH, f"{t}/synth", "--seed", "-1"],
        "data synth: --seed: got -1; valid: 0 to 4294967295",
    ),
    Case(
        "synthetic data into a file",
        lambda t: [*SYNTH, a_file(t)],
        "data synth: {tmp}/taken is a file; valid: a new or empty folder",
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
    assert lines[0] == expected, f"{lines[0]}\n!= {expected}"
    assert (files_under(out), files_under(scratch)) == before  # nothing written


def test_catalogue_is_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for case in CASES:
        assert f"| {case.name} |" in doc, case.name


SET_SPACE = "space:\n  loss.name: {values: !!set {DiceLoss, FocalLoss}}\n"
CASES.append(
    Case(
        "a !!set of values",
        lambda t: ["run", space(t, SET_SPACE), "--dry-run"],
        "{tmp}/space.yaml: line 3: a !!set has no order, so its values would be searched in a different order "
        "from run to run; valid: a list, e.g. [a, b]",
    )
)

STORES = "sqlite:///<path>.db, http(s)://host:port, postgresql://…, mysql://…, mssql://…"
ENV_CASES = [
    (
        "in-memory MLflow store",
        {},
        ["tracking.wandb=false", "tracking.mlflow_uri=sqlite:///:memory:"],
        "tracking.mlflow_uri: 'sqlite:///:memory:' is an in-memory database: every process would open its own, "
        "empty, and lose it at exit; valid: a file, sqlite:///<path>.db",
    ),
    (
        "Databricks as the MLflow URI",
        {"MLFLOW_TRACKING_URI": "databricks"},
        ["tracking.wandb=false"],
        "$MLFLOW_TRACKING_URI: 'databricks' is a Databricks workspace, which rudratune does not support (it "
        f"neither logs in nor checks the workspace before a run); valid: {STORES}",
    ),
]


@pytest.mark.parametrize(("name", "env", "overrides", "message"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_bad_tracking_store(
    name: str,
    env: dict[str, str],
    overrides: list[str],
    message: str,
    tmp_path: Path,
    tiny_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``:memory:`` discarded every run silently; ``databricks`` was refused by a message listing it as valid."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    args = ["--output-root", str(out), *TRAIN, f"data.root={tiny_data}", *overrides]
    code, lines = run_case(args, out, capsys)
    assert (code, lines) == (2, [f"rudratune: error: {message}"])
    assert not out.exists()


def test_store_cases_are_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for name, *_ in ENV_CASES:
        assert f"| {name} |" in doc, name


def test_exponents_without_a_dot_are_numbers(tmp_path: Path) -> None:
    """YAML 1.1 reads ``1e-4`` as text: a space's ``values: [1e-4, 1e-3]`` was searched as two strings."""
    from rudratune.search.space import load_sweep

    sweep = load_sweep(space(tmp_path, "space:\n  optimizer.lr: {values: [1e-4, 1e-3, 2E+1]}\n"))
    assert sweep.space["optimizer.lr"].values == [1e-4, 1e-3, 20.0]
    assert all(type(v) is float for v in sweep.space["optimizer.lr"].values)


def test_relative_data_root_is_taken_from_the_file(
    tmp_path: Path, tiny_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``data.root`` in a YAML file was taken from the working directory, ``experiment:`` from the file."""
    from rudratune.config.experiment import load_experiment
    from rudratune.search.space import load_sweep

    project = tmp_path / "project"
    project.mkdir()
    (project / "sem").symlink_to(tiny_data)
    experiment = project / "exp.yaml"
    experiment.write_text(EXPERIMENT.read_text().replace("root: null", "root: sem"))
    (project / "space.yaml").write_text("experiment: exp.yaml\nspace:\n  data.root: {values: [sem, /abs]}\n")
    monkeypatch.chdir(tmp_path)  # not the files' folder
    assert load_experiment(experiment).data.root == str(project / "sem")
    assert load_experiment(experiment, ["data.root=here"]).data.root == "here"  # the command line: cwd
    sweep = load_sweep(project / "space.yaml")
    assert sweep.base.data.root == str(project / "sem")
    assert sweep.space["data.root"].values == [str(project / "sem"), "/abs"]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wandb_key_without_a_network_is_said_in_seconds(
    tmp_path: Path, tiny_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``WANDB_API_KEY`` set with no network: a traceback after 110 s."""
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", url)
    monkeypatch.delenv("WANDB_MODE")  # the tests' offline default, which W&B reads over our settings
    out = tmp_path / "out"
    code, lines = run_case(
        ["--output-root", str(out), *TRAIN, f"data.root={tiny_data}", "tracking.mlflow=false"], out, capsys
    )
    assert (code, lines) == (
        2,
        [
            "rudratune: error: tracking.wandb_mode: $WANDB_API_KEY is set, so W&B runs online, but W&B at "
            f"{url} cannot be reached ([Errno 111] Connection refused); valid: a network that reaches it, "
            "tracking.wandb_mode=offline (then `wandb sync` later), or tracking.wandb=false"
        ],
    )
    assert not out.exists()


def test_wandb_server_that_never_answers_is_given_up_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that takes the connection and never answers (a proxy or firewall that drops): bounded."""
    from rudratune.errors import UserError
    from rudratune.tracking.environment import check_wandb_server

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nothing ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("WANDB_BASE_URL", url)
        monkeypatch.delenv("WANDB_MODE")
        start = time.monotonic()
        with pytest.raises(UserError, match=f"W&B at {url} cannot be reached \\(timed out\\)"):
            check_wandb_server("online", timeout=2)
        assert time.monotonic() - start < 10


def test_new_secret_keys_hide_secrets_but_no_config_key() -> None:
    """``passphrase``, ``pwd`` and ``signing_key`` were logged verbatim; the wider pattern must still log
    every key of the experiment and of a sweep's settings."""
    from rudratune.config.experiment import load_experiment
    from rudratune.search.space import load_sweep
    from rudratune.tracking.common import flat_params

    secrets = {
        k: "x" for k in ("passphrase", "db_pwd", "signing_key", "private_key", "credentials", "cookie")
    }
    secrets |= {"session": "x", "session_id": "x", "aws_secret_access_key": "x"}
    kept = {"possession": 1, "obsession_level": 2}
    assert flat_params({"provenance": {**secrets, **kept}}) == {
        "provenance.possession": 1,
        "provenance.obsession_level": 2,
    }
    cfg = load_experiment(EXPERIMENT).to_dict()
    assert len(flat_params(cfg)) == _leaves(cfg)
    settings = load_sweep(REPO / "search_spaces" / "quickstart.yaml").settings
    dumped = settings.model_dump(mode="json", exclude={"space"})
    assert len(flat_params(dumped)) == _leaves(dumped)


def _leaves(tree: dict) -> int:
    return sum(_leaves(v) if isinstance(v, dict) else v is not None for v in tree.values())
