"""Where the data comes from: a user folder, or the embedded synthetic SEM set generated on first use."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

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


def load_data(root: str | None, output_root: str | Path) -> SegmentationData:
    """Decode the configured dataset once, generating the embedded one if needed."""
    return load_folder(resolve_root(root, output_root))
