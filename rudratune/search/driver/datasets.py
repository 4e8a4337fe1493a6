"""The datasets a sweep can touch: each distinct ``data.root`` / ``data.intensity`` of the space, decoded once
in the driver and shipped to the trials through Ray's object store (resizing stays per trial)."""

from __future__ import annotations

from pathlib import Path

from rudratune.config.schema import DataConfig
from rudratune.data.checks import check_memory, check_split
from rudratune.data.folder import SegmentationData
from rudratune.data.source import dataset_key, load_datasets
from rudratune.search.space import Sweep, assignments


def data_configs(sweep: Sweep) -> list[tuple[DataConfig, int]]:
    """The distinct (data section, seed) pairs of every reachable combination of the space."""
    seen: dict[str, tuple[DataConfig, int]] = {}
    for chosen in assignments(sweep):
        relevant = {k: v for k, v in chosen.items() if k.startswith("data.") or k == "seed"}
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
