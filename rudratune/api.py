"""The Python entry points: a sweep or a training run from a notebook, as easily as from the shell.

Each function runs the same code as its command (``rudratune run``, ``rudratune train``), in this process,
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


def _call(argv: list[str], *, what: str) -> None:
    """Run the command; its user mistake comes back as the ``UserError`` it raised (the one-line message)."""
    code = main(argv, raise_user_errors=True)
    if code != 0:  # not a user mistake: a sweep that failed or was interrupted, its summary printed above
        raise UserError(f"{what}: ended with exit code {code} (its summary is printed above)")
