"""The network as a file that loads with torch alone: a ``torch.export`` program with dynamic batch, height
and width, or TorchScript where export with dynamic shapes fails for an architecture."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def example_input(channels: int, size: int) -> torch.Tensor:
    """Two images (a batch of one would freeze the batch size into the exported graph)."""
    return torch.rand(2, channels, size, size, generator=torch.Generator().manual_seed(0))


def save(net: nn.Module, example: torch.Tensor, path: Path) -> str:
    """Write ``net`` to ``path``; returns its format, ``pt2`` or ``torchscript`` (the fallback)."""
    net = net.cpu()
    net.train(False)
    dynamic = ({0: torch.export.Dim.AUTO, 2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO},)
    try:
        with torch.no_grad():
            program = torch.export.export(net, (example,), dynamic_shapes=dynamic)
        torch.export.save(program, str(path))
        return "pt2"
    except Exception:  # some architectures do not export with dynamic shapes: trace them instead
        with torch.no_grad():
            traced = torch.jit.trace(net, example, check_trace=False)
        torch.jit.save(traced, str(path))
        return "torchscript"
