"""A trained network back from a Lightning checkpoint: what the report's predictions and the sweep's best
model (and ``rudratune predict``) load."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from rudratune.config.schema import ExperimentConfig
from rudratune.errors import UserError
from rudratune.train.loop import build_module
from rudratune.train.module import SegmentationModule


def load_trained(cfg: ExperimentConfig, checkpoint: str | Path, in_channels: int) -> SegmentationModule:
    """The ``SegmentationModule`` of ``cfg`` with the weights of ``checkpoint``, in inference mode on the CPU.

    The checkpoint holds every weight, so a pretrained encoder is never downloaded again
    (``model.encoder_weights`` is ignored here). It is read as weights only (tensors, numbers, text): a
    checkpoint is a pickle, and one named by a shared ensemble.yaml or sweep folder could otherwise run any
    code it holds. One that cannot be read so is a ``UserError`` naming it.
    """
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"encoder_weights": None})})
    module = build_module(cfg, in_channels)
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
    except (
        OSError,
        EOFError,
        RuntimeError,
        KeyError,
        TypeError,
        IndexError,
        ValueError,
        pickle.UnpicklingError,
    ) as err:
        reason = str(err).splitlines()[0][:160] if str(err).strip() else type(err).__name__
        if "Weights only load failed" in reason:
            reason = "it holds objects other than weights, which could run code; not loaded"
        raise UserError(
            f"{checkpoint}: cannot load its weights ({type(err).__name__}: {reason}); valid: a checkpoint "
            "that rudratune wrote, whole (damaged, truncated or not rudratune's: retrain, or restore it)"
        ) from None
    module.train(False)
    return module
