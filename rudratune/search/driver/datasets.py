"""The datasets a sweep can touch: each distinct ``data.root`` / ``data.intensity`` of the space, decoded once
in the driver and shipped to the trials through Ray's object store (resizing stays per trial)."""

from __future__ import annotations

import json
from pathlib import Path

from rudratune.config.schema import DataConfig
from rudratune.data.checks import check_memory, check_split
from rudratune.data.folder import SegmentationData
from rudratune.data.source import dataset_key, load_datasets
from rudratune.errors import UserError
from rudratune.search.space import Sweep, assignments
from rudratune.tracking.dataset import digest

DATA_RECORD = "data.json"
"""Each dataset's content digest (``tracking.dataset.digest``), written when the sweep starts."""


def data_configs(sweep: Sweep) -> list[tuple[DataConfig, int]]:
    """The distinct (data section, seed) pairs of every reachable combination of the space."""
    seen: dict[str, tuple[DataConfig, int]] = {}
    keys = {k for k in sweep.space if k.startswith("data.") or k == "seed"}
    for chosen in assignments(sweep, keys):
        relevant = {k: v for k, v in chosen.items() if k in keys}
        cfg = sweep.trial_config(relevant, source=str(sweep.source))
        seen.setdefault(f"{cfg.data.model_dump_json()}|{cfg.seed}", (cfg.data, cfg.seed))
    return list(seen.values())


def load_sweep_data(sweep: Sweep, output_root: str | Path) -> dict[str, SegmentationData]:
    """Decode each distinct dataset once and check every split and image size the space can take.

    Returns:
        ``dataset_key(cfg.data)`` → decoded data; a trial looks its own up.
    """
    configs = data_configs(sweep)
    datasets = load_datasets([data for data, _ in configs], output_root)
    concurrent = sweep.settings.search.max_concurrent
    for data, seed in configs:
        decoded = datasets[dataset_key(data)]
        check_split(decoded, data, seed=seed)
        check_memory(decoded, data, concurrent=concurrent)
    return datasets


def record_data(run_dir: Path, datasets: dict[str, SegmentationData]) -> None:
    """Write each dataset's digest in the sweep folder, so that a ``resume`` can tell the data changed."""
    digests = {key: digest(data) for key, data in datasets.items()}
    tmp = Path(run_dir) / f".{DATA_RECORD}.tmp"
    tmp.write_text(json.dumps(digests, indent=2))
    tmp.replace(Path(run_dir) / DATA_RECORD)


def check_data(run_dir: Path, datasets: dict[str, SegmentationData]) -> None:
    """Refuse to resume on data other than the sweep started with: its trials would not be comparable (and
    MLflow would keep the old digest). A sweep without ``data.json`` (older, or killed before it was written)
    records the data it resumes on."""
    path = Path(run_dir) / DATA_RECORD
    if not path.is_file():  # a sweep from before data.json, or one killed before it was written
        record_data(run_dir, datasets)
        return
    try:
        started = json.loads(path.read_text())
    except ValueError:
        raise UserError(f"{path}: unreadable (not JSON); valid: the file the sweep wrote") from None
    for key, data in datasets.items():
        was, now = started.get(key), digest(data)
        if was is not None and was != now:
            root = json.loads(key).get("root") or "the embedded dataset"
            raise UserError(
                f"{run_dir}: the data in {root} changed since the sweep started (digest {was}, now {now}); "
                "valid: restore that data to resume, or start a new sweep with `rudratune run`"
            )
