"""Search-space parsing and validation; every invalid space is caught before anything starts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rudratune.cli import main
from rudratune.search.driver import draw
from rudratune.search.space import load_sweep
from tests.helpers import EXPERIMENT, REPO, files_under

HEADER = f"experiment: {EXPERIMENT}\n"


def write_space(tmp_path: Path, body: str, *, header: str = HEADER) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(header + textwrap.dedent(body))
    return path


@pytest.mark.parametrize("name", ["quickstart", "unet", "architectures"])
def test_shipped_spaces_dry_run(name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        [
            "--output-root",
            str(tmp_path),
            "run",
            str(REPO / "search_spaces" / f"{name}.yaml"),
            "--dry-run",
            "--dry-run-samples",
            "6",
            "data.image_size=64",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok:" in out and out.count("[builds") == 6
    assert not any(tmp_path.iterdir())  # a dry run writes nothing


def test_conditionals_and_bounds_in_suggestions(tmp_path: Path) -> None:
    space = write_space(
        tmp_path,
        """
        search: {searcher: {seed: 7}}
        space:
          model.name: {values: [smp.Unet, monai.UNet, scratch.UNet]}
          model.encoder: {values: [resnet18, resnet34], when: {model.name: [smp.Unet]}}
          loss.name: {values: [DiceLoss, DiceFocalLoss]}
          loss.gamma: {distribution: uniform, min: 0.5, max: 3.0, when: {loss.name: [DiceFocalLoss]}}
          optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}
          scheduler.patience: {distribution: int_log_uniform, min: 2, max: 16}
          scheduler.factor: {distribution: q_uniform, min: 0.1, max: 0.5, q: 0.1}
          trainer.max_epochs: {value: 3}
    """,
    )
    sweep = load_sweep(space)
    assert sweep.max_epochs == 3 and "trainer.max_epochs" not in sweep.space
    configs = draw(sweep, 40)
    assert configs == draw(load_sweep(space), 40)  # same file, same seed, same suggestions
    for c in configs:
        assert ("model.encoder" in c) == (c["model.name"] == "smp.Unet")
        assert ("loss.gamma" in c) == (c["loss.name"] == "DiceFocalLoss")
        assert 1e-4 <= c["optimizer.lr"] <= 1e-2 and 2 <= c["scheduler.patience"] <= 16
        assert round(c["scheduler.factor"] * 10, 6) == round(c["scheduler.factor"] * 10)
        cfg = sweep.trial_config(c)
        assert cfg.trainer.max_epochs == 3
    assert {c["model.name"] for c in configs} == {"smp.Unet", "monai.UNet", "scratch.UNet"}


def test_cli_overrides_reach_sweep_and_experiment(tmp_path: Path) -> None:
    space = write_space(
        tmp_path,
        """
        space:
          data.image_size: {value: 128}
          optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}
    """,
    )
    sweep = load_sweep(
        space, ["search.num_samples=3", "data.image_size=64", "trainer.max_epochs=2", "scheduler.factor=0.3"]
    )
    assert sweep.settings.search.num_samples == 3
    assert sweep.base.data.image_size == 64  # the command line beats the space's constant
    assert sweep.base.trainer.max_epochs == 2 and sweep.max_epochs == 2
    assert sweep.base.scheduler.factor == 0.3  # scheduler.* is the experiment's LR scheduler


INVALID = {
    "unknown top-level key": (
        "serach: {num_samples: 2}\nspace: {}\n",
        "unknown key 'serach' (did you mean 'search'?)",
    ),
    "unknown nested key": (
        "search: {num_sample: 2}\n",
        "unknown key 'search.num_sample' (did you mean 'num_samples'?)",
    ),
    "unknown distribution": (
        "space:\n  optimizer.lr: {distribution: gaussian, min: 0, max: 1}\n",
        "unknown distribution 'gaussian'",
    ),
    "min >= max": (
        "space:\n  optimizer.lr: {distribution: uniform, min: 0.1, max: 0.1}\n",
        "min (0.1) must be below max (0.1)",
    ),
    "log with min <= 0": (
        "space:\n  optimizer.lr: {distribution: log_uniform, min: 0, max: 1}\n",
        "log_uniform needs min > 0",
    ),
    "two kinds": (
        "space:\n  optimizer.lr: {values: [1], distribution: uniform, min: 0, max: 1}\n",
        "exactly one of",
    ),
    "when names absent param": (
        "space:\n  loss.gamma: {distribution: uniform, min: 1, max: 2, when: {loss.name: [DiceFocalLoss]}}\n",
        "space.loss.gamma.when: names 'loss.name', which is not a parameter of the space",
    ),
    "key not in experiment": (
        "space:\n  optimizer.learning_rate: {values: [0.1]}\n",
        "the experiment config has no key 'optimizer.learning_rate'",
    ),
    "unknown model": (
        "space:\n  model.name: {values: [smp.Unet, smp.UNet2]}\n",
        "unknown model 'smp.UNet2' (did you mean 'smp.Unet'?)",
    ),
    "unknown encoder": (
        "space:\n  model.encoder: {values: [resnet18, resnet_18x]}\n",
        "unknown encoder 'resnet_18x'",
    ),
    "unknown loss": (
        "space:\n  loss.name: {values: [DiceLoss, DiceFocal]}\n",
        "unknown loss 'DiceFocal' (did you mean 'DiceFocalLoss'?)",
    ),
    "unknown scheduler": (
        "space:\n  scheduler.name: {values: [plateau, cosine_annealing]}\n",
        "unknown scheduler 'cosine_annealing'",
    ),
    "loss param for another loss": (
        "space:\n  loss.gamma: {values: [1.0]}\n",
        "loss.gamma: not a parameter of GeneralizedDiceLoss",
    ),
    "encoder the architecture refuses": (
        "space:\n  model.name: {values: [smp.Unet, smp.DPT]}\n  model.encoder: {values: [resnet18]}\n",
        "smp.DPT takes only timm encoders",
    ),
    "image size a model cannot take": (
        "space:\n  model.name: {values: [smp.Unet, smp.PAN]}\n  data.image_size: {values: [64, 128]}\n",
        "smp.PAN needs data.image_size >= 128, got 64",
    ),
    "duplicate key": (
        "space:\n  optimizer.lr: {values: [0.1]}\n  optimizer.lr: {values: [0.2]}\n",
        "duplicate key 'optimizer.lr'",
    ),
    "malformed yaml": ("space:\n  optimizer.lr: {values: [0.1\n", "malformed YAML"),
    "mode against metric": ("metric: val_dice\nmode: min\n", "mode min makes no sense for val_dice"),
    "space not a mapping": ("space: [1, 2]\n", "'space' must be a mapping"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_space_is_caught_by_the_dry_run(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body, needle = INVALID[case]
    space = write_space(tmp_path, body)
    out = tmp_path / "runs"
    code = main(["--output-root", str(out), "run", str(space), "--dry-run"])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and needle in lines[0], captured.err
    assert str(space) in lines[0]
    assert files_under(out) == set()


def test_missing_experiment_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = write_space(tmp_path, "space: {}\n", header="experiment: nowhere.yaml\n")
    assert main(["run", str(space), "--dry-run"]) == 2
    assert "experiment: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["quickstart", "unet", "architectures"])
def test_shipped_spaces_rank_by_a_comparable_metric(name: str) -> None:
    from rudratune.train.metrics import METRICS

    sweep = load_sweep(REPO / "search_spaces" / f"{name}.yaml")
    assert not METRICS[sweep.settings.metric].depends_on_loss


def test_loss_dependent_metric_is_refused_only_when_the_loss_varies(tmp_path: Path) -> None:
    from rudratune.errors import UserError

    varies = write_space(tmp_path, "metric: val_loss\nspace:\n  loss.gamma: {values: [1.0, 2.0]}\n")
    with pytest.raises(
        UserError, match=r"space\.loss\.gamma varies the loss.*val_dice, val_iou, val_ref_loss"
    ):
        load_sweep(varies)
    fixed = write_space(tmp_path, "metric: val_loss\nspace:\n  loss.name: {value: DiceLoss}\n")
    assert load_sweep(fixed).settings.direction == "min"  # a constant loss keeps val_loss comparable


def test_sampler_arguments_are_explicit_and_start_up_follows_the_planned_trials(tmp_path: Path) -> None:
    space = write_space(tmp_path, "search: {num_samples: 30, searcher: {seed: 3}}\n")
    assert load_sweep(space).sampler_args() == {
        "sampler": "TPESampler",
        "seed": 3,
        "n_startup_trials": 6,
        "multivariate": True,
        "group": True,
        "constant_liar": True,
        "n_ei_candidates": 24,
    }
    budget = ["search.num_samples=1000", "search.budget_trial_epochs=40", "search.scheduler.grace_period=2"]
    assert load_sweep(space, budget).planned_trials == 20  # 40 trial-epochs pay for at most 20 trials
    assert load_sweep(space, budget).sampler_args()["n_startup_trials"] == 4
    assert load_sweep(space, ["search.num_samples=1000"]).sampler_args()["n_startup_trials"] == 10
    assert load_sweep(space, ["search.searcher.n_startup_trials=7"]).sampler_args()["n_startup_trials"] == 7
