"""`rudratune report` through the real CLI, on a real tiny sweep: the page, its figures, both trackers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from rudratune.search.record import record_for
from rudratune.search.space import load_sweep
from tests.conftest import cli
from tests.test_sweep import tiny_space

CHROMIUM = Path("/usr/bin/chromium")
EMBEDDED_PNG = '<img src="data:image/png;base64,'


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> tuple[Path, Path]:
    """A finished 4-trial sweep (3 epochs, ASHA) without its report: (output root, sweep folder)."""
    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "runs"
    space = tiny_space(tmp, tiny_data, num_samples=4, epochs=3)
    result = cli("--output-root", str(out), "run", str(space), "--name", "rep", "--no-report")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (out / "rep" / "report.html").exists()
    return out, out / "rep"


@pytest.fixture(scope="module")
def report(sweep: tuple[Path, Path]) -> Path:
    out, run_dir = sweep
    result = cli("--output-root", str(out), "report", str(run_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stderr, result.stderr
    page = Path(result.stdout.strip().splitlines()[-1])
    assert page == run_dir / "report.html"
    return page


@pytest.mark.slow
def test_report_is_one_self_contained_page(report: Path) -> None:
    text = report.read_text()
    assert text.count(EMBEDDED_PNG) >= 5
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", text), "the page must open offline"
    for heading in ("Best trials", "Learning curves", "Hyperparameter importance", "Best config against the base"):
        assert heading in text
    assert "ASHA rungs at epochs 1, 2" in text  # grace period 1, reduction factor 2, max_t 3


@pytest.mark.slow
def test_report_figures_are_valid_pngs(report: Path) -> None:
    names = {p.stem for p in (report.parent / "report").glob("*.png")}
    assert {"learning_curves", "parallel_coordinates", "metric_by_parameter", "importance", "predictions_val"} <= names
    for path in (report.parent / "report").glob("*.png"):
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert img.format == "PNG" and min(img.size) >= 200
            assert np.asarray(img.convert("L")).std() > 5, f"{path.name} is blank"


@pytest.mark.slow
def test_report_is_logged_to_both_trackers(sweep: tuple[Path, Path], report: Path) -> None:
    out, run_dir = sweep
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rudratune")
    (parent,) = client.search_runs([experiment.experiment_id], filter_string="tags.`rudratune.kind` = 'sweep'")
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/learning_curves.png", "report/predictions_val.png"} <= logged
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 4 + 1  # one per trial, one for the report


@pytest.mark.slow
def test_report_as_a_person_sees_it(report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install -y chromium)")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,4000",
         report.resolve().as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (4000, 1280)
    assert pixels.std() > 20
    assert len(np.unique(pixels.reshape(-1, 3) // 16, axis=0)) > 50  # text, plots and pore images, not one colour
    lower = pixels[2000:]  # the figures further down rendered too, not only the header
    assert (lower < 250).any(axis=2).mean() > 0.05


@pytest.mark.slow
def test_report_says_so_when_the_checkpoint_is_gone(sweep: tuple[Path, Path], report: Path, tmp_path: Path) -> None:
    _, run_dir = sweep
    copy = tmp_path / "moved"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("checkpoint_*", "wandb"))
    (copy / "report.html").unlink()
    from rudratune.report import write_report
    from rudratune.search.record import load_record

    page = write_report(load_record(copy), log=False)
    text = page.read_text()
    assert "is gone" in text and "no predictions to show" in text
    assert text.count(EMBEDDED_PNG) >= 4  # the curves come from the copied trial folders


def test_report_of_a_folder_that_is_not_a_sweep(tmp_path: Path) -> None:
    result = cli("report", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rudratune: error: ") and "not a rudratune sweep" in lines[0]


def test_report_of_a_sweep_without_results(tmp_path: Path, tiny_data: Path) -> None:
    run_dir = tmp_path / "runs" / "unfinished"
    run_dir.mkdir(parents=True)
    record_for(run_dir, load_sweep(tiny_space(tmp_path, tiny_data)), storage=None, output_root=tmp_path / "runs").save()
    result = cli("--output-root", str(tmp_path / "runs"), "report", str(run_dir))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no finished trial to report" in lines[0]
