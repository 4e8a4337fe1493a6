"""``decodings.json``: how each dataset of a sweep was decoded, so that ``rudratune predict`` decodes a new
image exactly as a trial's training data was, after the data folder is gone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from rudratune.data.preprocess import Decoding
from rudratune.data.stored import SegmentationData
from rudratune.errors import UserError

DECODINGS = "decodings.json"
"""``dataset_key(cfg.data)`` (``rudratune.data.source``) → the ``Decoding`` of that dataset."""


def save_decodings(run_dir: Path, datasets: Mapping[str, SegmentationData]) -> Path:
    """Write each decoded dataset's ``Decoding`` beside ``sweep.json``."""
    payload = {key: json.loads(d.decoding.to_json()) for key, d in datasets.items() if d.decoding}
    path = run_dir / DECODINGS
    tmp = run_dir / f".{DECODINGS}.tmp"
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)
    return path


def load_decodings(run_dir: Path) -> dict[str, Decoding]:
    """The sweep's recorded decodings ({} for a sweep run before they were recorded)."""
    path = Path(run_dir) / DECODINGS
    if not path.is_file():
        return {}
    try:
        return {k: Decoding.from_json(json.dumps(v)) for k, v in json.loads(path.read_text()).items()}
    except (ValueError, TypeError) as err:
        raise UserError(f"{path}: unreadable decoding record ({type(err).__name__})") from None
