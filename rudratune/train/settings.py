"""GPU settings resolved at run time: precision ``auto``, channels-last, torch.compile, determinism.

Each default is one line here (``DEFAULTS``-style constants), so that a GPU measurement can flip it.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn

AUTO_GPU_PRECISION = "bf16-mixed"
"""What ``trainer.precision: auto`` means on a GPU that supports bf16 (32-true elsewhere)."""
_warned: set[str] = set()


def on_gpu(accelerator: str) -> bool:
    """Whether Lightning will train on a CUDA device with this ``trainer.accelerator``."""
    return accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()


def resolve_precision(precision: str, *, on_gpu: bool) -> str:
    """``auto`` → bf16-mixed on a GPU with bf16 support, else 32-true; other values pass through."""
    if precision != "auto":
        return precision
    if on_gpu and torch.cuda.is_bf16_supported():
        return AUTO_GPU_PRECISION
    return "32-true"


def use_channels_last(net: nn.Module) -> bool:
    """Channels-last pays off for convolutions (cuDNN's NHWC kernels); a net without any gains nothing."""
    return any(isinstance(m, nn.Conv2d) for m in net.modules())


def prepare_net(net: nn.Module, *, gpu: bool, channels_last: bool, compile: bool) -> bool:
    """Apply channels-last (GPU, conv nets) and torch.compile in place; returns whether inputs should be
    channels-last too. ``nn.Module.compile`` keeps the state-dict keys, so checkpoints stay loadable."""
    last = gpu and channels_last and use_channels_last(net)
    if last:
        net.to(memory_format=torch.channels_last)
    if compile:
        net.compile()
    return last


def warn_deterministic_on_gpu(deterministic: bool, gpu: bool) -> None:
    """Say out loud (once per process) that deterministic kernels were asked for on a GPU."""
    if deterministic and gpu and "deterministic" not in _warned:
        _warned.add("deterministic")
        print(
            "rudratune: warning: trainer.deterministic: true on a GPU restricts cuDNN/cuBLAS to deterministic "
            "kernels (see BENCHMARKS.md for the measured cost); set trainer.deterministic=false for speed",
            file=sys.stderr,
        )


def configure(module: nn.Module, trainer: Any) -> str:
    """Apply the ``trainer`` section's GPU settings to a SegmentationModule; returns Lightning's precision."""
    gpu = on_gpu(trainer.accelerator)
    module.channels_last = prepare_net(
        module.net, gpu=gpu, channels_last=trainer.channels_last, compile=trainer.compile
    )
    warn_deterministic_on_gpu(trainer.deterministic, gpu)
    return resolve_precision(trainer.precision, on_gpu=gpu)
