"""What predicts: one or more trained networks (``Member``), each with the decoding and image size it was
trained with, and how their probabilities are combined (``Predictor``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rudratune.config.schema import ExperimentConfig
from rudratune.data.preprocess import Decoding

if TYPE_CHECKING:
    import numpy as np
    import torch


@dataclass
class Member:
    """One trained network and how its inputs were made.

    Attributes:
        name: what it is called in messages and the ensemble file (a trial id, a run folder's name).
        cfg: its resolved experiment (model, ``data.image_size``, ``data.normalize``).
        checkpoint: its Lightning checkpoint file.
        decoding: how its training data was decoded (``rudratune.data.preprocess``).
    """

    name: str
    cfg: ExperimentConfig
    checkpoint: Path
    decoding: Decoding
    _net: Any = field(default=None, repr=False)

    @property
    def image_size(self) -> int:
        return self.cfg.data.image_size

    @property
    def channels(self) -> int:
        return self.decoding.channels

    def net(self, device: torch.device) -> torch.nn.Module:
        """The network in inference mode on ``device``, loaded once."""
        if self._net is None:
            from rudratune.train.checkpoint import load_trained

            self._net = load_trained(self.cfg, self.checkpoint, self.channels).net
        return self._net.to(device)

    def describe(self) -> dict[str, Any]:
        """The member as the ensemble file names it."""
        return {
            "name": self.name,
            "checkpoint": str(self.checkpoint),
            "image_size": self.image_size,
            "normalize": self.cfg.data.normalize,
            "model": self.cfg.model.name,
            "decoding": self.decoding.__dict__ | {"percentiles": list(self.decoding.percentiles)},
        }


@dataclass
class Predictor:
    """Members whose probabilities are averaged, with mirror test-time augmentation (``tta``) or without.

    ``origin`` says in one line where it came from (printed by ``predict``); ``roots`` are the folders
    predictions may not be written into (the source's own tree)."""

    members: list[Member]
    tta: bool = False
    origin: str = ""
    roots: tuple[Path, ...] = ()
    forward: Callable[[list[np.ndarray]], list[np.ndarray]] | None = field(default=None, repr=False)
    """A served model's own raw images → probabilities at their size (``inference.served``); None: the
    members' (``inference.infer``)."""
    decoding: Decoding | None = None
    """The served model's decoding (None: each member's own)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The served model's settings (training size, normalisation), for ``predict.json``."""

    @property
    def channels(self) -> int:
        return self.display_decoding.channels

    @property
    def display_decoding(self) -> Decoding:
        """How an image is decoded to be shown (the overlays): as the served model's, else the first member's
        training data was."""
        return self.decoding or self.members[0].decoding

    def describe(self) -> list[dict[str, Any]]:
        """The members, as ``predict.json`` and the ensemble file name them (a served model: its settings)."""
        if self.forward is not None:
            return [{"name": self.origin, **self.settings, "decoding": self.display_decoding.__dict__}]
        return [m.describe() for m in self.members]
