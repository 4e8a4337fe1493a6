"""The Python entry points: a sweep or a training run from a notebook, as easily as from the shell.

Each function runs the same code as its command (``rudratune run``, ``rudratune train``,
``rudratune predict``), in this process,
and turns a user mistake into a ``UserError`` (the one-line message the command would print).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rudratune.cli import main
from rudratune.errors import UserError

if TYPE_CHECKING:
    from rudratune.search import TrialRow


def run_sweep(
    space: str | Path,
    overrides: Sequence[str] = (),
    *,
    name: str | None = None,
    output_root: str | Path = "runs",
    address: str | None = None,
    storage: str | None = None,
    report: bool = True,
) -> Path:
    """Run a search and return its folder (``results.json``, ``report.html``, ``sweep.json``).

    Args:
        space: a search-space YAML, e.g. ``search_spaces/quickstart.yaml``.
        overrides: ``key=value`` overrides of the sweep or its experiment, as on the command line.
        name: the sweep's folder name under ``output_root`` (default: the file's name and a timestamp).
        output_root: where every output goes.
        address: join a Ray cluster (``auto``, ``host:6379``, ``ray://host:10001``).
        storage: where Ray keeps results and checkpoints (a path, NFS path, ``s3://``).
        report: write ``report.html`` at the end.

    Raises:
        UserError: a mistake in the inputs, or a sweep that did not finish (interrupted, failed).

    Example:
        >>> run_dir = run_sweep("search_spaces/quickstart.yaml", ["search.num_samples=4"], name="nb")
        >>> sweep_results(run_dir)[0].best["val_dice"]
    """
    name = name or f"{Path(space).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    argv = ["--output-root", str(output_root), "run", str(space), *overrides, "--name", name]
    argv += ["--address", address] if address else []
    argv += ["--storage", storage] if storage else []
    argv += [] if report else ["--no-report"]
    _call(argv, what=f"sweep {name}")
    return Path(output_root) / name


def sweep_results(run_dir: str | Path) -> list[TrialRow]:
    """One ``TrialRow`` per trial of a finished sweep (what ``results.json`` holds), best first.

    A row's fields: ``trial_id``; ``ending`` (a ``TrialEnding``: completed, early_stopped, stopped_by_asha,
    stopped_by_budget, failed, refused) and, derived from it, ``status`` and ``reason``; ``epochs`` and
    ``best_epoch``; ``best`` and ``last`` (metric → value: ``row.best["val_dice"]``); ``cost``
    (``params_m``, ``latency_ms``, ...); ``params`` (the searched parameters it had, inactive ones absent);
    ``feasible`` and ``violation``; ``checkpoint``, ``trial_dir``, ``error``, ``torch_threads``.
    ``row.value("val_dice")`` reads a best metric or a cost by name.
    """
    from rudratune.search import load_record, ranked, read_results  # local: keeps `import rudratune` cheap

    record = load_record(run_dir)
    settings = record.sweep.settings
    rows = read_results(record.run_dir, record.sweep.order)
    best = ranked(rows, settings.metric, settings.direction)
    return best + [r for r in rows if r not in best]


def train_experiment(
    config: str | Path, overrides: Sequence[str] = (), *, output_root: str | Path = "runs"
) -> Path:
    """Train one experiment config with both trackers and return its run folder (``artifacts/metrics.json``)."""
    root = Path(output_root)
    before = set((root / "train").glob("*")) if (root / "train").is_dir() else set()
    _call(["--output-root", str(root), "train", str(config), *overrides, "--quiet"], what=str(config))
    (made,) = set((root / "train").glob("*")) - before
    return made


def predict(
    source: str | Path,
    images: str | Path | Sequence[str | Path],
    output: str | Path,
    *,
    format: str = "png",
    probabilities: bool = False,
    overlay: bool = False,
    pixel_size: str | None = None,
    best: bool = False,
    tta: bool | None = None,
    tile: int | None = None,
    force: bool = False,
    output_root: str | Path | None = None,
) -> Path:
    """Masks of new images into ``output`` (``masks/``, ``measurements.csv``, ``objects.csv``,
    ``size_histogram.png``, ``predict.json``), as ``rudratune predict`` writes them; returns ``output``.

    Args:
        source: a ``rudratune train`` run folder, a sweep folder (its ``ensemble.yaml`` when exported, else
            its best trial that kept weights), an ensemble file, or an MLflow model rudratune logged:
            ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/m-ID`` (a run's
            ``rudratune.pyfunc_uri`` tag) or a model folder.
        images: image files or folders of them, in any format training reads.
        output: the folder to create (refused when it exists and is not empty, unless ``force``).
        format: ``png`` or ``tiff`` masks (0/255); probability maps follow it.
        probabilities, overlay: also write the probability maps, and the mask outlines on the images.
        pixel_size: e.g. ``"2.5nm"``, for physical sizes in the measurements.
        best: a sweep folder's best trial even when it has an ensemble.
        tta: force mirror test-time augmentation on (True) or off (False); None: the source's choice.
        tile: predict ``tile``-pixel tiles of each image instead of the whole image at once.
        output_root: where a model URI's store is (``<output_root>/mlflow.db``) when
            ``$MLFLOW_TRACKING_URI`` is not set; default ``runs``.

    Example:
        >>> out = predict("runs/train/rudraksha-20261206-120000", "my_images/", "masks_out")
        >>> (out / "measurements.csv").read_text()
    """
    items = [images] if isinstance(images, (str, Path)) else list(images)
    argv = ["--output-root", str(output_root)] if output_root is not None else []
    argv += ["predict", str(source), *map(str, items), "-o", str(output), "--format", format, "--quiet"]
    argv += ["--probabilities"] * probabilities + ["--overlay"] * overlay + ["--best"] * best
    argv += ["--force"] * force + (["--pixel-size", pixel_size] if pixel_size else [])
    argv += [] if tta is None else ["--tta" if tta else "--no-tta"]
    argv += ["--tile", str(tile)] if tile else []
    _call(argv, what=f"predict {source}")
    return Path(output)


def _call(argv: list[str], *, what: str) -> None:
    """Run the command; its user mistake comes back as the ``UserError`` it raised (the one-line message)."""
    code = main(argv, raise_user_errors=True)
    if code != 0:  # not a user mistake: a sweep that failed or was interrupted, its summary printed above
        raise UserError(f"{what}: ended with exit code {code} (its summary is printed above)")
