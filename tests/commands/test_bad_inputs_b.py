"""Issue 12, second probe (names, devices, resources, YAML shapes, storage, export, resume): each case exits 2
with one line naming the file, the key and the valid values, and writes nothing under the output root."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudratune.cli import main
from rudratune.runtime import gpu_count
from tests.helpers import EXPERIMENT, REPO, files_under

NO_GPU = pytest.mark.skipif(gpu_count() > 0, reason="checks a machine without a GPU")
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def space(tmp: Path, body: str, name: str = "space.yaml") -> str:
    path = tmp / name
    path.write_text(f"experiment: {EXPERIMENT}\n{body}")
    return str(path)


def record(tmp: Path, *, finished: bool = False) -> str:
    """A real sweep record (no trial yet), written as ``rudratune run`` writes it."""
    from rudratune.search.record import mark_finished, record_for
    from rudratune.search.space import load_sweep

    run_dir = tmp / "sweeps" / "s1"
    run_dir.mkdir(parents=True)
    rec = record_for(run_dir, load_sweep(space(tmp, "space: {}\n")), storage=None, output_root=tmp)
    rec.save()
    if finished:
        mark_finished(rec)
    return str(run_dir)


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Path], list[str]]
    """scratch dir → CLI arguments after ``--output-root``."""
    message: str
    """The whole message after ``rudratune: error: ``, with ``{tmp}`` for the scratch dir."""
    marks: tuple = ()


RULE = (
    "may hold only letters, digits, '_', '.' and '-' (no '/', ':' or '..'), starting with a letter or digit"
)
TRAIN = ["train", str(EXPERIMENT)]
CASES = [
    Case(
        "experiment name with ..", lambda t: [*TRAIN, "name=../../x"], f"{EXPERIMENT}: name: '../../x' {RULE}"
    ),
    Case(
        "experiment name as a path",
        lambda t: [*TRAIN, "name=/any/path"],
        f"{EXPERIMENT}: name: '/any/path' {RULE}",
    ),
    Case(
        "experiment name with :", lambda t: [*TRAIN, "name=unet:v2"], f"{EXPERIMENT}: name: 'unet:v2' {RULE}"
    ),
    Case(
        "W&B project with /",
        lambda t: [*TRAIN, "tracking.wandb_project=bad/proj"],
        f"{EXPERIMENT}: tracking.wandb_project: 'bad/proj' {RULE}",
    ),
    Case(
        "sweep name with : in the space",
        lambda t: ["run", space(t, "name: a:b\n"), "--dry-run"],
        f"{{tmp}}/space.yaml: name: 'a:b' {RULE}",
    ),
    Case(
        "fractional GPU without a GPU (dry run)",
        lambda t: ["run", space(t, "resources: {cpu: 1, gpu: 0.25}\n"), "--dry-run"],
        "{tmp}/space.yaml: resources.gpu: a trial asks for 0.25 GPU(s) but this machine has 0; "
        "valid: 0 (there is no GPU)",
        (NO_GPU,),
    ),
    Case(
        "two GPUs without a GPU",
        lambda t: ["run", space(t, "resources: {cpu: 1, gpu: 2}\n")],
        "{tmp}/space.yaml: resources.gpu: a trial asks for 2 GPU(s) but this machine has 0; valid: 0 (there is no GPU)",
        (NO_GPU,),
    ),
    Case(
        "more CPUs than the machine has",
        lambda t: ["run", space(t, "resources: {cpu: 4096}\n")],
        f"{{tmp}}/space.yaml: resources.cpu: a trial asks for 4096 CPU(s) but this machine has "
        f"{len(os.sched_getaffinity(0))}; valid: 1 to {len(os.sched_getaffinity(0))}, or resources: auto",
    ),
    Case(
        "GPU accelerator in a sweep whose trials get no GPU",
        lambda t: ["run", space(t, "resources: {cpu: 1, gpu: 0}\n"), "trainer.accelerator=gpu", "--dry-run"],
        "{tmp}/space.yaml: trainer.accelerator: 'gpu' but a trial gets no GPU on this machine; valid: auto or "
        "cpu, or give trials resources.gpu",
    ),
    Case(
        "billion laughs YAML",
        lambda t: ["run", space(t, BOMB), "--dry-run"],
        "{tmp}/space.yaml: line 2: more than 20000 values once aliases (*name) are expanded",
    ),
    Case(
        "list as a key",
        lambda t: ["run", space(t, "? [a, b]\n: 1\n"), "--dry-run"],
        "{tmp}/space.yaml: line 2: a key must be plain text, not a list",
    ),
    Case(
        "recursive alias",
        lambda t: ["run", space(t, "x: &a [*a]\n"), "--dry-run"],
        "{tmp}/space.yaml: line 2: an alias (*name) refers to a value that contains it",
    ),
    Case(
        "YAML nested too deep",
        lambda t: ["run", space(t, "x: " + "[" * 2000 + "]" * 2000 + "\n"), "--dry-run"],
        "{tmp}/space.yaml: nested more than 64 levels deep",
    ),
    Case(
        "GPU accelerator without a GPU",
        lambda t: [*TRAIN, "trainer.accelerator=gpu"],
        f"{EXPERIMENT}: trainer.accelerator: 'gpu' but this machine has none that torch can use; valid here: "
        "auto, cpu",
        (NO_GPU,),
    ),
    Case(
        "unknown accelerator",
        lambda t: [*TRAIN, "trainer.accelerator=tpux"],
        f"{EXPERIMENT}: trainer.accelerator: got 'tpux'; valid values: 'auto', 'cpu', 'gpu', 'cuda' or 'mps'",
    ),
    Case(
        "devices not a number",
        lambda t: [*TRAIN, "trainer.devices=abc"],
        f"{EXPERIMENT}: trainer.devices: got 'abc'; valid values: 'auto' or 1",
    ),
    Case(
        "several devices",
        lambda t: [*TRAIN, "trainer.devices=4"],
        f"{EXPERIMENT}: trainer.devices: got 4; valid values: 'auto' or 1",
    ),
    Case(
        "unsupported storage scheme",
        lambda t: ["run", space(t, "space: {}\n"), "--storage", "ftp://x"],
        "--storage: unsupported scheme 'ftp://'; valid: a local or NFS path, file://, s3://, gs://, gcs://, "
        "hdfs://, abfs://, abfss://",
    ),
    Case(
        "storage in a read-only place",
        lambda t: ["run", space(t, "space: {}\n"), "--storage", "/proc/store"],
        "--storage: cannot write in /proc (",
    ),
    Case(
        "output root where nothing can be written",
        lambda t: ["--output-root", "/proc", *TRAIN],
        "--output-root: cannot write in /proc (",
    ),
    Case(
        "export over an existing file",
        lambda t: ["export", record(t), "-o", str(EXPERIMENT)],
        f"-o: {EXPERIMENT} already exists; pass --force to overwrite it",
    ),
    Case(
        "export over the sweep's record",
        lambda t: ["export", record(t), "-o", f"{t}/sweeps/s1/sweep.json", "--force"],
        "-o: {tmp}/sweeps/s1/sweep.json is inside the sweep folder {tmp}/sweeps/s1, which holds its records; "
        "valid: a path outside it, or {tmp}/sweeps/s1/best.yaml (the default)",
    ),
    Case(
        "export into a folder",
        lambda t: ["export", record(t), "-o", str(t)],
        "-o: {tmp} is a folder; give a file name, e.g. {tmp}/best.yaml",
    ),
    Case(
        "mixed types in values",
        lambda t: [
            "run",
            space(t, "space:\n  scheduler.patience: {values: [2, '3', 4.0, true]}\n"),
            "--dry-run",
        ],
        "{tmp}/space.yaml: space.scheduler.patience: got '3', text; valid: whole numbers only",
    ),
    Case(
        "true among whole numbers",
        lambda t: ["run", space(t, "space:\n  scheduler.patience: {values: [2, true]}\n"), "--dry-run"],
        "{tmp}/space.yaml: space.scheduler.patience: got True, a true/false; valid: whole numbers only",
    ),
    Case(
        "mixed types for a loss parameter",
        lambda t: ["run", space(t, "space:\n  loss.gamma: {values: [1.5, x]}\n"), "--dry-run"],
        "{tmp}/space.yaml: space.loss.gamma: values of mixed types [1.5, 'x']; valid: all numbers, all text or "
        "all true/false",
    ),
    Case(
        "resources misspelt",
        lambda t: ["run", space(t, "resources: atuo\n"), "--dry-run"],
        "{tmp}/space.yaml: resources: got 'atuo' (did you mean 'auto'?); valid: auto or a mapping such as "
        "{cpu: 1, gpu: 0}",
    ),
    Case(
        "resume of a finished sweep",
        lambda t: ["resume", record(t, finished=True)],
        "{tmp}/sweeps/s1: sweep s1 finished at ",
    ),
    Case(
        "negative --samples",
        lambda t: ["run", space(t, "space: {}\n"), "--dry-run", "--dry-run-samples", "-1"],
        "--dry-run-samples: must be at least 1, got -1",
    ),
    Case(
        "zero --samples",
        lambda t: ["run", space(t, "space: {}\n"), "--dry-run", "--dry-run-samples", "0"],
        "--dry-run-samples: must be at least 1, got 0",
    ),
]


def run_case(args: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(args if args[0] == "--output-root" else ["--output-root", str(out), *args])
    err = capsys.readouterr().err
    return code, err.strip().splitlines()


@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.name) for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
    assert time.perf_counter() - start < 30  # the bomb and deep nesting included


def test_catalogue_is_documented() -> None:
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    for case in CASES:
        assert f"| {case.name} |" in doc, case.name


# Raw YAML text, not safe_dump output: anchors and aliases (recursive ones too), complex keys, tags, merge keys,
# odd scalars, several documents and deep nesting, around the keys a search space really has.
ANCHORS = ("a", "b")
SAFE_SCALARS = (
    "1",
    "-3",
    "0.5",
    "1e-3",
    "1.0e-3",
    "~",
    "yes",
    "true",
    "'3'",
    "''",
    "auto",
    "atuo",
    "smp.Unet",
    "resnet18",
    "val_loss",
    "uniform",
    "log_uniform",
    "[]",
    "{}",
    "DiceLoss",
)
ODD_SCALARS = (
    ".nan",
    ".inf",
    "0x1F",
    "2001-12-14",
    "'a: b'",
    '"\\u0000"',
    "!!binary aGVsbG8=",
    "!!int 3",
    "!!float 2",
    "!!str 5",
    "!!set {x}",
    "!!python/object:os.system x",
    "!custom 1",
    "!!omap [a: 1]",
)
KEYS = ("space", "search", "resources", "metric", "mode", "name", "storage", "max_failures", "checkpoints")
ODD_KEYS = ("data_transfer", "<<", "? [x, y]", "? {a: 1}", "1", "~", "optimizer.lr", "experiment")
SPACE_KEYS = (
    "optimizer.lr",
    "loss.name",
    "loss.gamma",
    "model.name",
    "scheduler.patience",
    "trainer.devices",
    "trainer.accelerator",
    "data.image_size",
    "model.encoder",
    "trainer.max_epochs",
)
ODD_SPACE_KEYS = ("name", "<<", "? [a]", "2", "nope.key")
PARAM_KEYS = ("value", "values", "grid", "distribution", "min", "max", "q", "when")


def mostly(common: tuple[str, ...], odd: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Three draws in four from the common choices, one from the odd ones."""
    return st.one_of(
        st.sampled_from(common), st.sampled_from(common), st.sampled_from(common), st.sampled_from(odd)
    )


def yaml_node(depth: int = 3) -> st.SearchStrategy[str]:
    scalar = mostly(SAFE_SCALARS, ODD_SCALARS)
    if depth == 0:
        return scalar
    inner = yaml_node(depth - 1)
    return st.one_of(
        scalar,
        scalar,
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(mostly(PARAM_KEYS, SPACE_KEYS + ("<<",)), inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
        st.tuples(st.sampled_from(ANCHORS), inner).map(lambda p: f"&{p[0]} {p[1]}"),
        st.tuples(st.sampled_from(ANCHORS), st.integers(1, 12)).map(
            lambda p: "[" + ", ".join([f"*{p[0]}"] * p[1]) + "]"
        ),
    )


def unique_anchors(text: str) -> str:
    """Number the anchors (YAML refuses a duplicate); an alias names the latest one, or becomes 1 if none."""
    import re

    latest: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        sign, name = match.group(1), match.group(2)
        if sign == "&":
            latest[name] = f"{name}{match.start()}"
            return f"&{latest[name]}"
        return f"*{latest[name]}" if name in latest else "1"

    return re.sub(r"([&*])([ab])\b", rename, text)


param = st.lists(st.tuples(mostly(PARAM_KEYS, ("<<", "when", "? [x]")), yaml_node(2)), max_size=3)
space_params = st.lists(st.tuples(mostly(SPACE_KEYS, ODD_SPACE_KEYS), param), max_size=4).map(
    lambda ps: (
        "space: {}\n"
        if not ps
        else "space:\n" + "".join(f"  {k}: {{{', '.join(f'{a}: {v}' for a, v in p)}}}\n" for k, p in ps)
    )
)
documents = st.tuples(
    st.lists(st.tuples(mostly(KEYS, ODD_KEYS), yaml_node()), max_size=3).map(
        lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs)
    ),
    space_params,
    st.sampled_from(["", "", "", "---\n", "--- !!map\n", "...\n---\nx: 1\n", "%YAML 1.1\n---\n"]),
    st.one_of(
        st.just(""), st.just(""), st.integers(60, 400).map(lambda n: "deep: " + "[" * n + "]" * n + "\n")
    ),
).map(lambda p: unique_anchors(f"{p[2]}experiment: {EXPERIMENT}\n{p[0]}{p[1]}{p[3]}"))


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=documents)
def test_raw_yaml_never_raises_a_traceback(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "raw.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    start = time.perf_counter()
    code = main(["--output-root", str(out), "run", str(path), "--dry-run", "--samples", "1"])
    took = time.perf_counter() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (0, 2), err
    if code == 2:
        assert len(err) == 1 and err[0].startswith("rudratune: error: "), err
        assert took < 10, f"{took:.1f} s"
    assert not out.exists() or files_under(out) == set()
