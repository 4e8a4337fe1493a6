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


def best_config(run_dir: str | Path) -> tuple[dict[str, Any], Path]:
    """The best trial's resolved experiment (with provenance) and the record it came from."""
    # local: search.results imports ray; the CLI imports this module for every `export`
    from rudratune.search.record import load_record
    from rudratune.search.results import ranked, read_results

    record = load_record(run_dir)
    settings = record.sweep.settings
    rows = ranked(read_results(record), settings.metric, settings.direction)
    if not rows:
        raise UserError(f"{run_dir}: no trial of this sweep completed an epoch; nothing to export")
    best = rows[0]
    params = {k: best[k] for k in record.sweep.order if best.get(k) not in (None, "")}
    cfg = record.sweep.trial_config(params, source=f"{run_dir} trial {best['trial_id']}").to_dict()
    if cfg["trainer"]["threads"] is None and best.get("torch_threads"):
        cfg["trainer"]["threads"] = int(best["torch_threads"])  # same thread count → same float sums on CPU
    cfg["tracking"]["mlflow_uri"] = redact(cfg["tracking"]["mlflow_uri"])
    cfg["name"] = f"{record.name}-best"
    cfg["provenance"] = {
        "sweep": record.name,
        "sweep_dir": str(record.run_dir.resolve()),
        "trial_id": best["trial_id"],
        "metric": settings.metric,
        "best_epoch": int(best["best_epoch"]),
        "best_val_loss": float(best["best_val_loss"]),
        "best_val_dice": float(best["best_val_dice"]),
        "checkpoint": best.get("checkpoint") or None,
        "params": params,
        "versions": versions(),
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return cfg, record.run_dir


def run(args: argparse.Namespace) -> int:
    cfg, run_dir = best_config(args.run_dir)
    out = Path(args.output) if args.output else run_dir / "best.yaml"
    if not out.parent.is_dir():
        raise UserError(f"-o: folder {out.parent} does not exist")
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
    print(
        f"wrote {out}: trial {p['trial_id']}, best val_loss {p['best_val_loss']:.6f} at epoch {p['best_epoch']}"
    )
    return 0
