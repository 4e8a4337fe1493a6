"""``rudratune export RUN_DIR [-o FILE]``: the best trial as a complete, runnable experiment config."""

from __future__ import annotations

import argparse
import datetime as dt
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from rudratune.errors import UserError
from rudratune.tracking.common import redact

VERSIONED = (
    "rudratune",
    "torch",
    "lightning",
    "segmentation-models-pytorch",
    "monai",
    "ray",
    "optuna",
    "timm",
)


def versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def best_config(
    run_dir: str | Path, *, pick: list[str] | None = None, trial: str | None = None
) -> tuple[dict[str, Any], Path]:
    """The chosen trial's resolved experiment (with provenance) and the record it came from.

    Args:
        run_dir: the sweep's folder.
        pick: ``[RULE, MARGIN]``, e.g. ``["fastest-within", "0.01"]`` (``rudratune.search.results.pick``).
        trial: a trial id to export instead of the best.
    """
    from rudratune.search import choose, live_rows, load_record, ranked, read_results

    record = load_record(run_dir)
    settings = record.sweep.settings
    all_rows = read_results(record.run_dir, record.sweep.order) or live_rows(record)  # running: so far
    rows = ranked(all_rows, settings.metric, settings.direction)
    if not rows:
        raise UserError(f"{run_dir}: no trial of this sweep completed an epoch; nothing to export")
    best, choice = choose(
        rows, all_rows, metric=settings.metric, mode=settings.direction, pick=pick, trial=trial
    )
    params = dict(best.params)
    chosen = {
        **params,
        "name": f"{record.name}-best" if choice["rule"] == "best" else f"{record.name}-{best.trial_id}",
    }
    if record.sweep.base.trainer.threads is None and best.torch_threads:
        chosen["trainer.threads"] = best.torch_threads  # same thread count → same float sums on CPU
    trial_cfg = record.sweep.trial_config(chosen, source=f"{run_dir} trial {best.trial_id}")
    cfg = trial_cfg.to_dict()
    cfg["tracking"]["mlflow_uri"] = redact(cfg["tracking"]["mlflow_uri"])
    cfg["provenance"] = {
        "sweep": record.name,
        "sweep_dir": str(record.run_dir.resolve()),
        "trial_id": best.trial_id,
        "metric": settings.metric,
        f"best_{settings.metric}": float(best.best[settings.metric]),
        "best_epoch": int(best.best_epoch or 0),
        "best_val_loss": float(best.best["val_loss"]),
        "best_val_dice": float(best.best["val_dice"]),
        "checkpoint": best.checkpoint or None,
        "params": params,
        "choice": choice,
        "cost": dict(best.cost),
        "feasible": best.feasible,
        "searcher": record.searcher,
        "versions": versions(),
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return cfg, record.run_dir


def check_output(out: Path, run_dir: Path, *, force: bool) -> None:
    """``-o`` never overwrites without ``--force``, and never writes over a file of the sweep's own record."""
    if any(ord(c) < 32 or ord(c) == 127 for c in str(out)):  # a pasted newline or tab, not a name meant
        raise UserError(
            f"-o: {str(out)!r} holds a control character (newline, tab, ...); valid: a plain file name"
        )
    if not out.parent.is_dir():
        raise UserError(f"-o: folder {out.parent} does not exist")
    target, sweep = out.resolve(), run_dir.resolve()
    if target != sweep / "best.yaml" and (target == sweep or sweep in target.parents):
        raise UserError(
            f"-o: {out} is inside the sweep folder {run_dir}, which holds its records; "
            f"valid: a path outside it, or {run_dir / 'best.yaml'} (the default)"
        )
    if out.is_dir():
        raise UserError(f"-o: {out} is a folder; give a file name, e.g. {out / 'best.yaml'}")
    if out.exists() and not force:
        raise UserError(f"-o: {out} already exists; pass --force to overwrite it")


def run(args: argparse.Namespace) -> int:
    if (
        getattr(args, "onnx", None) or getattr(args, "register", None) is not None
    ):  # the model, not the config
        from rudratune.commands import export_model

        return export_model.run(args, best_config)
    if getattr(args, "ensemble", None) is not None:
        from rudratune.commands import ensemble

        return ensemble.run(args)
    if args.output:  # before reading the sweep: a cheap check of what the user typed
        check_output(Path(args.output).expanduser(), Path(args.run_dir), force=args.force)
    cfg, run_dir = best_config(args.run_dir, pick=args.pick, trial=args.trial)
    out = Path(args.output).expanduser() if args.output else run_dir / "best.yaml"
    header = (
        f"# Exported by `rudratune export` from sweep {cfg['provenance']['sweep']}, trial "
        f"{cfg['provenance']['trial_id']}.\n# Retrain with: rudratune train {out}\n"
    )
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(header + yaml.safe_dump(cfg, sort_keys=False))
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(f"-o: cannot write {out} ({err.strerror})") from None
    p = cfg["provenance"]
    metric = p["metric"]
    print(
        f"wrote {out}: trial {p['trial_id']} ({p['choice']['rule']}), best {metric} {p[f'best_{metric}']:.6f} "
        f"at epoch {p['best_epoch']}" + "".join(f", {k} {v:.4g}" for k, v in p["cost"].items())
    )
    return 0
