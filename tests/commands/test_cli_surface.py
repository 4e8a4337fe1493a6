"""The CLI's everyday surface: --version, completion, --print-config, show, usage and labels."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from rudratune.cli import build_parser, main
from rudratune.commands.common import warn_without_cuda
from rudratune.config.experiment import load_experiment
from rudratune.search.driver import describe
from rudratune.search.driver.progress import LiveTable, duration
from rudratune.search.record import record_for
from rudratune.search.space import Param, load_sweep
from tests.helpers import EXPERIMENT, REPO, cli, files_under, tiny_space


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"rudratune \d+\.\d+\.\d+\S*\n", result.stdout), result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_knows_the_commands(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--print-completion", shell])
    assert exit_.value.code == 0
    script = capsys.readouterr().out
    for word in ("show", "export", "--print-config", "--dry-run-samples", "--version"):
        assert word in script, word
    assert "--samples" not in script.replace("--dry-run-samples", "")  # the old name stays hidden


def test_train_print_config_is_the_resolved_experiment(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    overrides = [
        "optimizer.lr=3e-4",
        "+loss.gamma=2.5",
        "loss.name=DiceFocalLoss",
        "tracking.mlflow_uri=http://u:p@h:5000",
    ]
    code = main(["--output-root", str(out), "train", str(EXPERIMENT), *overrides, "--print-config"])
    printed = capsys.readouterr().out
    assert code == 0
    loaded = yaml.safe_load(printed)
    assert "u:p" not in printed
    expected = load_experiment(EXPERIMENT, overrides).to_dict()
    expected["tracking"]["mlflow_uri"] = "http://***@h:5000"  # never print credentials
    assert loaded == expected
    assert loaded["optimizer"]["lr"] == 3e-4 and loaded["loss"]["gamma"] == 2.5
    assert not out.exists()  # prints and exits: no output root, no run folder


def test_run_print_config_is_the_base_experiment(tmp_path: Path, tiny_data: Path, capsys) -> None:
    space = tiny_space(tmp_path, tiny_data)
    code = main(
        [
            "--output-root",
            str(tmp_path / "out"),
            "run",
            str(space),
            "optimizer.weight_decay=0.01",
            "--print-config",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    loaded = yaml.safe_load(printed)
    assert loaded == load_sweep(space, ["optimizer.weight_decay=0.01"]).base.to_dict(provenance=False)
    assert loaded["optimizer"]["weight_decay"] == 0.01 and loaded["data"]["image_size"] == 32
    assert not (tmp_path / "out").exists()


def test_usage_shows_overrides_as_optional_and_the_renamed_option() -> None:
    for command in ("train", "run"):
        result = cli(command, "--help")
        usage = result.stdout.split("\n\n")[0]
        assert "[key=value ...]" in usage, usage
    run_help = cli("run", "--help").stdout
    assert "--dry-run-samples N" in run_help and "--samples" not in run_help.replace("--dry-run-samples", "")
    old = build_parser().parse_args(["run", "space.yaml", "--samples", "3"])
    new = build_parser().parse_args(["run", "space.yaml", "--dry-run-samples", "4"])
    assert (old.dry_run_samples, new.dry_run_samples) == (3, 4)
    assert build_parser().parse_args(["run", "space.yaml"]).dry_run_samples == 8


def test_int_bounds_print_as_integers() -> None:
    assert describe("trainer.max_epochs", Param(distribution="int_uniform", min=2, max=8)).endswith(
        "int_uniform [2, 8]"
    )
    assert "[0.0001, 0.01]" in describe("optimizer.lr", Param(distribution="log_uniform", min=1e-4, max=1e-2))


def test_wandb_spelling_log_uniform_values_is_log_uniform(tmp_path: Path) -> None:
    assert Param(distribution="log_uniform_values", min=1e-4, max=1e-2).distribution == "log_uniform"
    path = tmp_path / "wandb.yaml"
    path.write_text(
        f"experiment: {EXPERIMENT}\nspace:\n  optimizer.lr: {{distribution: log_uniform_values, min: 1.0e-4, max: 0.1}}\n"
    )
    assert load_sweep(path).space["optimizer.lr"].distribution == "log_uniform"


def _ray_trial_folder(run_dir: Path, trial_id: str, params: dict, epochs: list[tuple[float, float]]) -> None:
    """What Ray writes into a trial folder while the trial runs: params.json, progress.csv, result.json."""
    folder = run_dir / f"run_trial_{trial_id}_1_{'_'.join(f'{k}={v}' for k, v in params.items())}_2026-11-27"
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps(params))
    rows = [
        {"val_loss": loss, "val_dice": dice, "epoch": i + 1, "trial_id": trial_id}
        for i, (loss, dice) in enumerate(epochs)
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (folder / "progress.csv").write_text(buffer.getvalue())
    (folder / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_show_a_running_sweep(tmp_path: Path, tiny_data: Path) -> None:
    run_dir = tmp_path / "runs" / "live"
    run_dir.mkdir(parents=True)
    record_for(
        run_dir, load_sweep(tiny_space(tmp_path, tiny_data)), storage=None, output_root=tmp_path
    ).save()
    result = cli("show", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    empty = json.loads(result.stdout)
    assert empty["best"] is None and empty["trials"] == [] and empty["state"] == "running or interrupted"

    _ray_trial_folder(
        run_dir,
        "aaaa0001",
        {"loss.name": "GeneralizedDiceLoss", "optimizer.lr": 0.001},
        [(0.9, 0.2), (0.7, 0.35), (0.8, 0.3)],
    )
    _ray_trial_folder(
        run_dir,
        "bbbb0002",
        {"loss.name": "DiceFocalLoss", "loss.gamma": 2.0, "optimizer.lr": 0.01},
        [(0.75, 0.25)],
    )
    before = files_under(run_dir)
    summary = json.loads(cli("show", str(run_dir), "--json").stdout)
    assert files_under(run_dir) == before  # show only reads
    assert [t["trial_id"] for t in summary["trials"]] == ["aaaa0001", "bbbb0002"]
    best = summary["best"]
    assert (
        best["trial_id"] == "aaaa0001" and best["value"] == 0.35 and best["best_epoch"] == 2
    )  # best, not last
    assert best["params"] == {"loss.name": "GeneralizedDiceLoss", "optimizer.lr": 0.001}
    assert summary["trials"][1]["params"]["loss.gamma"] == 2.0

    _ray_trial_folder(
        run_dir, "cccc0003", {"loss.name": "DiceLoss", "optimizer.lr": 0.1}, [(float("nan"), 0.0)]
    )
    strict = json.loads(cli("show", str(run_dir), "--json").stdout, parse_constant=lambda c: pytest.fail(c))
    assert strict["trials"][-1]["trial_id"] == "cccc0003" and strict["trials"][-1]["best_val_loss"] is None

    text = cli("show", str(run_dir)).stdout
    header = text.splitlines()[1].split()
    assert header[-3:] == ["loss.name", "loss.gamma", "optimizer.lr"]  # full dotted keys, no three `name`s
    assert "best trial aaaa0001: val_dice 0.3500 (epoch 2)" in text


class _Trial(SimpleNamespace):
    """The attributes of ray.tune.experiment.Trial that the live table reads."""


def test_live_table_best_is_the_best_epoch_and_it_shows_elapsed_and_eta(capsys) -> None:
    table = LiveTable(metric="val_loss", mode="min", num_samples=4, every_s=1e9)
    a = _Trial(
        trial_id="a", status="RUNNING", config={"optimizer.lr": 0.01, "loss.name": "DiceLoss"}, last_result={}
    )
    b = _Trial(
        trial_id="b",
        status="RUNNING",
        config={"optimizer.lr": 0.001, "loss.name": "DiceLoss"},
        last_result={},
    )
    for trial, losses in ((a, [0.5, 0.9]), (b, [0.7, 0.6])):
        for epoch, loss in enumerate(losses, 1):
            trial.last_result = {"epoch": epoch, "val_loss": loss, "val_dice": 0.1}
            table.on_trial_result(0, [a, b], trial, trial.last_result)
    table._start -= 90  # the sweep has run for 1.5 minutes
    a.status = "TERMINATED"
    table.on_trial_complete(0, [a, b], a)
    table.print_table([a, b])
    text = capsys.readouterr().out.splitlines()[-4:]
    assert "trials 2/4: 1 running, 1 terminated; elapsed 1m30s, ETA ~4m30s" in text[0]
    assert text[1].startswith(
        "  best a: val_loss 0.5000 (epoch 1)"
    )  # a's best epoch, although it ended at 0.9
    assert "optimizer.lr=0.01 loss.name=DiceLoss" in text[1]
    assert duration(42) == "42s" and duration(7500) == "2h05m"


def test_gpu_request_without_cuda_is_said_out_loud(capsys) -> None:
    import torch

    warn_without_cuda(True, "resources.gpu=1")
    err = capsys.readouterr().err
    if torch.cuda.is_available():
        assert err == ""
    else:
        assert err.startswith(
            "rudratune: warning: resources.gpu=1 asks for GPUs but torch.cuda.is_available() is False"
        )
        assert len(err.strip().splitlines()) == 1


def test_importing_the_cli_stays_cheap() -> None:
    code = "import sys, rudratune.cli; print([m for m in ('torch', 'ray', 'optuna', 'plotly') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
