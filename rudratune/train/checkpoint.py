"""A trained network back from a Lightning checkpoint: what the report's predictions and the sweep's best
model (and ``rudratune predict``) load."""

from __future__ import annotations

from pathlib import Path

import torch

from rudratune.config.schema import ExperimentConfig
from rudratune.train.loop import build_module
from rudratune.train.module import SegmentationModule


def load_trained(cfg: ExperimentConfig, checkpoint: str | Path, in_channels: int) -> SegmentationModule:
    """The ``SegmentationModule`` of ``cfg`` with the weights of ``checkpoint``, in inference mode on the CPU.

    The checkpoint holds every weight, so a pretrained encoder is never downloaded again
    (``model.encoder_weights`` is ignored here).
    """
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"encoder_weights": None})})
    module = build_module(cfg, in_channels)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    module.train(False)
    return module
