"""The dataset as the trackers see it: a name, where it is, and a digest of its decoded content."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rudratune.data.folder import SegmentationData


def digest(data: SegmentationData) -> str:
    """SHA-256 over the decoded pairs (names, shapes, stored pixels) and the intensity rule with its
    statistics, first 16 hex digits: same data decoded the same way, same digest."""
    h = hashlib.sha256()
    if data.decoding is not None:
        h.update(data.decoding.to_json().encode())
    for name, image, mask in zip(data.names, data.images, data.masks, strict=True):
        h.update(name.encode())
        for array in (image, mask):
            h.update(str(array.shape).encode())
            h.update(array.tobytes())
    return h.hexdigest()[:16]


def log_input(client: Any, run_id: str, root: str | Path, data: SegmentationData, *, digest_: str) -> None:
    """``log_input`` with the client API: the folder's name, its path as source, the content digest."""
    client.log_inputs(run_id, datasets=[dataset_input(root, digest_=digest_)])


def dataset_input(root: str | Path, *, digest_: str) -> Any:
    """The MLflow ``DatasetInput`` of a data folder (small: a sweep's tracker keeps it for every trial run)."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    root = Path(root).resolve()
    with warnings.catch_warnings():  # "can be interpreted in multiple ways": both are the local source
        warnings.simplefilter("ignore")
        source = resolve_dataset_source(str(root))
    dataset = MetaDataset(source, name=root.name, digest=digest_)
    tags = [InputTag(key="mlflow.data.context", value="training")]
    return DatasetInput(dataset._to_mlflow_entity(), tags=tags)
