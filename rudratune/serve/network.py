"""The network as a file that loads with torch alone: a ``torch.export`` program with dynamic batch, height
and width, or TorchScript where export with dynamic shapes fails for an architecture."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def example_input(channels: int, size: int) -> torch.Tensor:
    """Two images (a batch of one would freeze the batch size into the exported graph)."""
    return torch.rand(2, channels, size, size, generator=torch.Generator().manual_seed(0))


def export_size(size: int, multiple: int) -> int:
    """The example's side: at least twice the size multiple, so that the deepest feature map is 2 x 2 or more
    (at 1 x 1, torch.export specializes it and the program takes no larger image: ``x.size()[2] <= 32``)."""
    return max(size, 2 * multiple)


def examples(channels: int, size: int, multiple: int) -> list[torch.Tensor]:
    """Example batches to export on: the training size first (the size the served model runs at), then
    ``export_size``. Below ``2 * multiple`` the program takes only sides up to the training size."""
    sides = dict.fromkeys([size, export_size(size, multiple)])
    return [example_input(channels, side) for side in sides]


def save(net: nn.Module, examples: list[torch.Tensor], path: Path) -> str:
    """Write ``net`` to ``path``, exported on the first of ``examples`` that works (an architecture with a
    fixed input size, e.g. a ViT's, only exports at its training size); returns ``pt2`` or ``torchscript``
    (the fallback, traced on the last example)."""
    net = net.cpu()
    net.train(False)
    dynamic = ({0: torch.export.Dim.AUTO, 2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO},)
    for example in examples:
        try:
            with torch.no_grad():
                program = torch.export.export(net, (example,), dynamic_shapes=dynamic)
            torch.export.save(program, str(path))
            return "pt2"
        except Exception:  # the next example, or TorchScript
            continue
    with torch.no_grad():  # some architectures do not export with dynamic shapes: trace them instead
        traced = torch.jit.trace(net, examples[-1], check_trace=False)
    torch.jit.save(traced, str(path))
    return "torchscript"
