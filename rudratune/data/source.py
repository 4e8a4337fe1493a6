"""Where the data comes from: a user folder, or the embedded synthetic SEM set generated on first use."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from rudratune.config.schema import DataConfig, IntensityConfig
from rudratune.data.folder import SegmentationData, load_folder
from rudratune.data.synth import write_dataset

EMBEDDED_NAME = "synthetic-sem-v1"


def embedded_root(output_root: str | Path) -> Path:
    return Path(output_root) / "datasets" / EMBEDDED_NAME


def ensure_embedded(output_root: str | Path) -> Path:
    """Generate the embedded dataset under the output root unless it is already there."""
    root = embedded_root(output_root)
    if not root.exists():
        print(f"rudratune: generating the embedded dataset in {root} (first use)", file=sys.stderr)
        with contextlib.suppress(FileExistsError):  # another process finished it first
            write_dataset(root)
    return root


def resolve_root(root: str | None, output_root: str | Path) -> Path:
    return ensure_embedded(output_root) if root is None else Path(root).expanduser()


def load_data(
    root: str | None, output_root: str | Path, intensity: IntensityConfig | None = None
) -> SegmentationData:
    """Decode the configured dataset once, generating the embedded one if needed."""
    return load_folder(resolve_root(root, output_root), intensity)


def dataset_key(cfg: DataConfig) -> str:
    """What decoding depends on: the folder and the intensity rule (resizing happens later, per trial)."""
    return json.dumps({"root": cfg.root, "intensity": cfg.intensity.model_dump()}, sort_keys=True)


def load_datasets(configs: list[DataConfig], output_root: str | Path) -> dict[str, SegmentationData]:
    """Decode each distinct dataset among ``configs`` once, keyed by ``dataset_key``."""
    out: dict[str, SegmentationData] = {}
    for cfg in configs:
        key = dataset_key(cfg)
        if key not in out:
            out[key] = load_data(cfg.root, output_root, cfg.intensity)
    return out
