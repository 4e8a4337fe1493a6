"""The Python API in ``rudratune/__init__.py``: cheap to import, the same behaviour as the commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import rudratune
from rudratune.serve.pyfunc import PYFUNC_URI_TAG
from rudratune.tracking.model import MODEL_URI_TAG
from tests.helpers import EXPERIMENT, REPO, mlflow_runs, tiny_space


def test_import_is_cheap_and_exports_are_lazy() -> None:
    code = "import sys, rudratune; print(sorted(m for m in ('torch', 'ray', 'mlflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
    assert set(rudratune.__all__) >= {"run_sweep", "train", "load_experiment", "load_sweep", "list_models"}
    with pytest.raises(AttributeError):
        rudratune.no_such_thing  # noqa: B018


def test_version_matches_the_package_metadata() -> None:
    from importlib import metadata

    assert rudratune.__version__ == metadata.version("rudratune")


def test_load_experiment_and_registries() -> None:
    cfg = rudratune.load_experiment(EXPERIMENT, ["trainer.max_epochs=3"])
    assert cfg.trainer.max_epochs == 3 and cfg.model.name in rudratune.list_models()
    with pytest.raises(rudratune.UserError, match="unknown model"):
        rudratune.load_experiment(EXPERIMENT, ["model.name=smp.Nope"])


@pytest.mark.slow
def test_run_sweep_from_python(tmp_path: Path, tiny_data: Path) -> None:
    space = tiny_space(tmp_path, tiny_data, num_samples=2, epochs=1, log_models=False)
    run_dir = rudratune.run_sweep(
        space, ["tracking.wandb=false"], name="nb", output_root=tmp_path / "runs", report=False
    )
    rows = rudratune.sweep_results(run_dir)
    assert len(rows) == 2 and rows[0].best["val_dice"] >= rows[1].best.get("val_dice", -1)
    # tracking.log_models: false: the parent run ends FINISHED with the best trial's values, but no model
    (parent,), children = mlflow_runs(tmp_path / "runs")
    assert parent.info.status == "FINISHED" and len(children) == 2
    assert parent.data.tags["rudratune.best_trial"] == rows[0].trial_id
    assert MODEL_URI_TAG not in parent.data.tags and PYFUNC_URI_TAG not in parent.data.tags
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    assert client.search_logged_models([parent.info.experiment_id]) == []


def test_a_user_mistake_comes_back_as_its_one_line_message_printed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(rudratune.UserError) as raised:
        rudratune.train_experiment(EXPERIMENT, ["model.name=smp.Nope"], output_root=tmp_path / "runs")
    assert str(raised.value).startswith(f"{EXPERIMENT}: model.name: unknown model 'smp.Nope' (did you mean")
    with pytest.raises(
        rudratune.UserError, match=r"^unrecognized arguments: --bogus \(see rudratune --help\)$"
    ):
        rudratune.run_sweep(tmp_path / "space.yaml", ["--bogus"], output_root=tmp_path / "runs")
    assert "rudratune: error" not in capsys.readouterr().err  # raised, not printed as well
