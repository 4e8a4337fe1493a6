"""`rudratune report` through the real CLI, on a real tiny sweep: the page, its figures, both trackers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image
from plotly.offline import get_plotlyjs

from rudratune.report.importance import param_importances
from rudratune.report.page import write_report
from rudratune.search.record import load_record, record_for
from rudratune.search.space import Param, load_sweep
from tests.helpers import cli, tiny_space, trial_rows_of

CHROMIUM = Path("/usr/bin/chromium")
EMBEDDED_PNG = '<img src="data:image/png;base64,'
PLOTLY_DIV = 'class="plotly-graph-div"'
# what Chromium itself contacts, whatever the page (time, updates, accounts); a page request is anything else
CHROMIUM_OWN = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)/")


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
    assert text.count(PLOTLY_DIV) == 4  # parallel coordinates, intermediate values, slice, importance
    scripts = re.findall(r"<script[^>]*>", text)
    assert not any("src=" in tag for tag in scripts), "plotly.js is inlined, not loaded"
    # plotly.js itself mentions URLs (map-tile attributions it never loads here): check the page around it
    page = text.replace(get_plotlyjs(), "")
    assert len(page) < len(text) / 2, "plotly.js was not found to strip"
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page), "the page must open offline"
    for heading in (
        "Trials",
        "Learning curves",
        "Interactive figures",
        "Hyperparameter importance",
        "Best config against the base",
    ):
        assert f"<h2>{heading}" in text
    assert "ASHA rungs at epochs 1, 2" in text  # grace period 1, reduction factor 2, max_t 3
    assert "Estimated on only 4 trials (fewer than 8)" in text
    trials = text[text.index("<table class=sortable>") :]
    assert trials[: trials.index("</table>")].count("<tr") == 1 + 4  # complete: a header and every trial
    assert (
        "<table class=sortable>" in text and "<th>loss.name</th>" in text and "<th>optimizer.lr</th>" in text
    )


@pytest.mark.slow
def test_report_figures_are_valid_pngs(report: Path) -> None:
    names = {p.stem for p in (report.parent / "report").glob("*.png")}
    assert {
        "learning_curves",
        "parallel_coordinates",
        "metric_by_parameter",
        "importance",
        "predictions_val",
    } <= names
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
    (parent,) = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`rudratune.kind` = 'sweep'"
    )
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/learning_curves.png", "report/predictions_val.png"} <= logged
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 4 + 2  # per trial, best model, report


@pytest.mark.slow
def test_report_as_a_person_sees_it(report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install -y chromium)")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,4000",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (4000, 1280)
    assert pixels.std() > 20
    assert (
        len(np.unique(pixels.reshape(-1, 3) // 16, axis=0)) > 50
    )  # text, plots and pore images, not one colour
    lower = pixels[2000:]  # the figures further down rendered too, not only the header
    assert (lower < 250).any(axis=2).mean() > 0.05


def _chromium(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            *extra,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_report_figures_render_offline_without_console_errors(report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install -y chromium)")
    net_log = tmp_path / "net.json"
    result = _chromium(
        report,
        tmp_path,
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={net_log}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=15000",
        "--dump-dom",
    )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "\n".join(console)
    dom = result.stdout
    assert dom.count('class="plot-container plotly"') == 4, "plotly drew every figure"
    assert dom.count('class="main-svg"') >= 8
    requested = set(re.findall(r'"url":"([^"]+)"', net_log.read_text()))
    from_page = sorted(u for u in requested if not u.startswith("file:") and not CHROMIUM_OWN.match(u))
    assert from_page == [], f"the page asked the network for {from_page}"


# clicks headers of the trial table, then writes the resulting row orders into the page for --dump-dom
SORT_PROBE = """<script>
const t = document.querySelector("table.sortable"), heads = [...t.tHead.rows[0].cells];
const order = () => [...t.tBodies[0].rows].map(r => r.cells[0].textContent).join(" ");
const by = name => heads.find(h => h.textContent === name);
by("optimizer.lr").click(); const up = order(); by("optimizer.lr").click(); const down = order();
by("loss.gamma").click(); const gamma = order();
document.body.insertAdjacentHTML("beforeend", `<pre id=probe>${up}|${down}|${gamma}</pre>`);
</script>"""


@pytest.mark.slow
def test_trial_table_sorts_on_a_header_click(sweep: tuple[Path, Path], report: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install -y chromium)")
    _, run_dir = sweep
    clicked = tmp_path / "clicked.html"
    clicked.write_text(report.read_text().replace("</body>", SORT_PROBE + "</body>"))
    result = _chromium(clicked, tmp_path, "--virtual-time-budget=15000", "--dump-dom")
    found = re.search(r'<pre id="probe">([^<]*)</pre>', result.stdout)
    assert found, result.stderr[-2000:]
    up, down, gamma = (part.split() for part in found.group(1).split("|"))
    rows = json.loads((run_dir / "results.json").read_text())
    with_lr = sorted(
        (r for r in rows if r["optimizer.lr"] not in (None, "")), key=lambda r: float(r["optimizer.lr"])
    )
    by_lr = [r["trial_id"] for r in with_lr]  # a trial that errored before its first result has no params
    assert (up[: len(by_lr)], down[: len(by_lr)]) == (by_lr, by_lr[::-1])  # as numbers; a 2nd click reverses
    with_gamma = sorted((r for r in rows if r["loss.gamma"] not in (None, "")), key=lambda r: r["loss.gamma"])
    assert gamma[: len(with_gamma)] == [r["trial_id"] for r in with_gamma]  # empty cells last
    assert set(gamma[len(with_gamma) :]) == {r["trial_id"] for r in rows} - {
        r["trial_id"] for r in with_gamma
    }


@pytest.mark.slow
def test_show_a_finished_sweep(sweep: tuple[Path, Path]) -> None:
    out, run_dir = sweep
    result = cli("--output-root", str(out), "show", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    rows = json.loads((run_dir / "results.json").read_text())
    assert summary["state"] == "finished" and len(summary["trials"]) == len(rows) == 4
    # the sweep's metric is val_dice (the default since issue 9)
    best = max((r for r in rows if r.get("best_val_dice") is not None), key=lambda r: r["best_val_dice"])
    assert summary["best"]["trial_id"] == best["trial_id"]
    assert summary["best"]["value"] == best["best_val_dice"]
    assert summary["best"]["params"] == {
        k: best[k] for k in summary["params"] if best.get(k) not in (None, "")
    }
    text = cli("--output-root", str(out), "show", str(run_dir)).stdout
    assert f"best trial {best['trial_id']}: val_dice {best['best_val_dice']:.4f}" in text


@pytest.mark.slow
def test_report_says_so_when_the_checkpoint_is_gone(
    sweep: tuple[Path, Path], report: Path, tmp_path: Path
) -> None:
    _, run_dir = sweep
    copy = tmp_path / "moved"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("checkpoint_*", "wandb", "report*"))
    results = copy / "results.json"
    results.write_text(results.read_text().replace(str(run_dir), str(copy)))

    page = write_report(load_record(copy), log=False)
    text = page.read_text()
    assert "is gone" in text and "no predictions to show" in text
    assert text.count(EMBEDDED_PNG) >= 4  # the curves come from the copied trial folders


def test_report_of_a_folder_that_is_not_a_sweep(tmp_path: Path) -> None:
    result = cli("report", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("rudratune: error: ") and "not a rudratune sweep" in lines[0]
    )


def test_report_of_a_sweep_without_results(tmp_path: Path, tiny_data: Path) -> None:
    run_dir = tmp_path / "runs" / "unfinished"
    run_dir.mkdir(parents=True)
    record_for(
        run_dir, load_sweep(tiny_space(tmp_path, tiny_data)), storage=None, output_root=tmp_path / "runs"
    ).save()
    result = cli("--output-root", str(tmp_path / "runs"), "report", str(run_dir))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no finished trial to report" in lines[0]


def test_importing_the_report_is_cheap() -> None:
    heavy = ("torch", "matplotlib", "optuna", "mlflow", "wandb", "ray", "lightning")
    code = f"import sys, rudratune.report.page; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_importance_of_conditional_params_is_measured_where_they_are_active() -> None:
    space = {
        "loss.name": Param(values=["DiceLoss", "DiceFocalLoss"]),
        "loss.gamma": Param(distribution="uniform", min=0.5, max=3.0, when={"loss.name": ["DiceFocalLoss"]}),
        "optimizer.lr": Param(distribution="log_uniform", min=1e-4, max=1e-2),
        "trainer.max_epochs": Param(distribution="int_uniform", min=2, max=8),
    }
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        focal = i % 2 == 0
        lr = float(10 ** rng.uniform(-4, -2))
        rows.append(
            {
                "trial_id": str(i),
                "loss.name": "DiceFocalLoss" if focal else "DiceLoss",
                "loss.gamma": float(rng.uniform(0.5, 3.0)) if focal else "",
                "optimizer.lr": lr,
                "trainer.max_epochs": int(rng.integers(2, 9)),
                "best_val_loss": 1 + np.log10(lr),
            }
        )
    rows = trial_rows_of(rows, tuple(space))
    found, notes = param_importances(rows, space, list(space), "val_loss")
    by_name = {i.param: i for i in found}
    assert set(by_name) == set(space) and not notes
    assert by_name["loss.gamma"].conditional and by_name["loss.gamma"].scope.startswith("the 4 trials where")
    assert max(found, key=lambda i: i.value).param == "optimizer.lr"

    few, notes = param_importances(rows[:2], space, list(space), "val_loss")
    assert few == [] and "at least 3" in notes[0]
    single, notes = param_importances(
        rows, {"optimizer.lr": space["optimizer.lr"]}, ["optimizer.lr"], "val_loss"
    )
    assert single == [] and "single parameter" in notes[0]


def test_the_pareto_front_is_drawn_only_for_more_than_one_objective(tmp_path: Path, tiny_data: Path) -> None:
    """Issue 19: a single-objective sweep drew 'Pareto front: val_dice against latency_ms'."""
    from rudratune.report.pareto import pareto_sections
    from rudratune.search.record import record_for
    from rudratune.search.space import load_sweep

    space = tiny_space(tmp_path, tiny_data)
    rows = trial_rows_of([{"trial_id": "a", "best_val_dice": 0.5, "latency_ms": 3.0, "feasible": True}])
    single = record_for(tmp_path / "one", load_sweep(space), storage=None, output_root=tmp_path)
    assert pareto_sections(single, rows, tmp_path) == []
    two = load_sweep(space, ["metric=[val_dice,latency_ms]", "mode=[max,min]"])
    record = record_for(tmp_path / "two", two, storage=None, output_root=tmp_path)
    (section,) = pareto_sections(record, rows, tmp_path)
    assert section.title == "Pareto front: val_dice against latency_ms"
