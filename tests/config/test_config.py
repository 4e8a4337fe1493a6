from __future__ import annotations

from pathlib import Path

import pytest

from rudratune.config.experiment import load_experiment
from rudratune.config.load import apply_overrides, read_yaml
from rudratune.errors import UserError
from tests.helpers import EXPERIMENT


def test_recipe_matches_the_published_values() -> None:
    cfg = load_experiment(EXPERIMENT)
    assert (cfg.seed, cfg.data.image_size, cfg.data.batch_size) == (42, 256, 8)
    assert (cfg.model.name, cfg.model.encoder_weights, cfg.loss.name) == (
        "smp.DeepLabV3Plus",
        None,
        "GeneralizedDiceLoss",
    )
    assert (cfg.optimizer.name, cfg.optimizer.lr) == ("Adam", 1e-3)
    s = cfg.scheduler
    assert (s.name, s.factor, s.patience, s.threshold) == ("plateau", 0.5, 5, 1e-3)
    assert (cfg.trainer.max_epochs, cfg.trainer.log_every_n_steps, cfg.trainer.save_top_k) == (100, 2, 3)


def test_overrides_use_hydra_grammar() -> None:
    cfg = load_experiment(
        EXPERIMENT,
        ["trainer.max_epochs=3", "optimizer.lr=0.01", "loss.name=DiceFocalLoss", "+loss.gamma=1.5"],
    )
    assert cfg.trainer.max_epochs == 3 and cfg.optimizer.lr == 0.01
    assert cfg.loss.params == {"gamma": 1.5}


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (["trainer.max_epoch=3"], "unknown key 'trainer.max_epoch' (did you mean 'max_epochs'?)"),
        (["model.name=smp.Unett"], "unknown model 'smp.Unett' (did you mean 'smp.Unet'?)"),
        (["model.encoder=resnet19"], "unknown encoder 'resnet19'"),
        (["loss.name=DiceLos"], "unknown loss 'DiceLos' (did you mean 'DiceLoss'?)"),
        (["+loss.gamma=2"], "loss.gamma: not a parameter of GeneralizedDiceLoss"),
        (["scheduler.name=cosin"], "unknown scheduler 'cosin' (did you mean 'cosine'?)"),
        (["optimizer.name=Adamm"], "unknown optimizer 'Adamm'"),
        (
            ["data.image_size=100"],
            "data.image_size: smp.DeepLabV3Plus needs data.image_size divisible by 32, got 100",
        ),
        (["model.name=smp.PAN", "data.image_size=64"], "smp.PAN needs data.image_size >= 128"),
        (["model.name=smp.DPT", "model.encoder=resnet18"], "takes only timm encoders"),
        (
            ["trainer.precision=8"],
            "trainer.precision: got 8; valid values: 'auto', '32-true', '32', '16-mixed' or 'bf16-mixed'",
        ),
        (["optimizer.lr=-1"], "optimizer.lr: Input should be greater than 0"),
        (["data.val_fraction=0.5", "data.test_fraction=0.5"], "must be below 1"),
        (["trainer.max_epochs=1,2"], "is a sweep"),
    ],
)
def test_bad_values_name_the_file_and_key(overrides: list[str], needle: str) -> None:
    with pytest.raises(UserError) as err:
        load_experiment(EXPERIMENT, overrides)
    message = str(err.value)
    assert needle in message
    assert message.startswith(str(EXPERIMENT)) and "\n" not in message


def test_duplicate_and_malformed_yaml(tmp_path: Path) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text("seed: 1\nseed: 2\n")
    with pytest.raises(UserError, match=r"dup.yaml: line 2: duplicate key 'seed'"):
        read_yaml(dup)
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [1, 2\n")
    with pytest.raises(UserError, match=r"bad.yaml: line \d+ malformed YAML"):
        read_yaml(bad)
    with pytest.raises(UserError, match="no such file"):
        read_yaml(tmp_path / "missing.yaml")


def test_apply_overrides_does_not_touch_the_input() -> None:
    base = {"a": {"b": 1}}
    assert apply_overrides(base, ["a.b=2", "~a.b", "+c.d=x"]) == {"a": {}, "c": {"d": "x"}}
    assert base == {"a": {"b": 1}}


def test_num_workers_is_deprecated_loads_and_warns_once(capsys: pytest.CaptureFixture[str]) -> None:
    from rudratune.config import experiment

    experiment._DEPRECATION_SAID.clear()
    cfg = load_experiment(EXPERIMENT, ["data.num_workers=4"])
    load_experiment(EXPERIMENT, ["data.num_workers=2"])
    assert cfg.data.num_workers == 4  # an old config still loads; the value does nothing
    err = capsys.readouterr().err
    assert err.count("rudratune: warning:") == 1 and "data.num_workers is ignored" in err
    load_experiment(EXPERIMENT)
    assert "num_workers" not in capsys.readouterr().err
