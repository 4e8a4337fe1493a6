"""What a model costs, measured on the run's own device before it trains (a few seconds).

- ``params_m``: parameters, in millions.
- ``latency_ms``: median of ``repeats`` timed forward passes after ``warmup`` untimed ones, batch 1 at the
  run's image size, eval mode, under ``torch.inference_mode`` (CUDA synchronized around each pass).
- ``peak_mem_mb``: GPU only: peak memory allocated by one training step (weights, gradients, optimizer
  state, activations) at the run's batch size, on a copy of the model (float32).

Measuring runs in a forked RNG and on copies, so the training that follows is the same as without it.
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

COST_KEYS = ("params_m", "latency_ms", "peak_mem_mb")
WARMUP, REPEATS = 3, 10


def measure_cost(
    module: Any,
    *,
    device: torch.device,
    image_size: int,
    batch_size: int,
    channels: int = 3,
    warmup: int = WARMUP,
    repeats: int = REPEATS,
) -> dict[str, float]:
    """Measure ``module`` (a SegmentationModule: ``net``, ``loss``, ``configure_optimizers``) on ``device``."""
    import torch

    cost = {"params_m": sum(p.numel() for p in module.net.parameters()) / 1e6}
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        cost["latency_ms"] = _latency_ms(module.net, device, image_size, channels, warmup, repeats)
        if device.type == "cuda":
            cost["peak_mem_mb"] = _peak_train_step_mb(module, device, image_size, batch_size, channels)
    return cost


def _sync(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _latency_ms(
    net: torch.nn.Module, device: torch.device, size: int, channels: int, warmup: int, repeats: int
) -> float:
    import torch

    clone = copy.deepcopy(net).to(device)
    clone.train(False)
    x = torch.rand(1, channels, size, size, device=device)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            _sync(device)
            start = time.perf_counter()
            clone(x)
            _sync(device)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000)
    del clone
    return statistics.median(times)


def _peak_train_step_mb(module: Any, device: torch.device, size: int, batch: int, channels: int) -> float:
    return peak_train_step(module, device, size, batch, channels=channels) / 2**20


def peak_train_step(
    module: Any,
    device: torch.device,
    size: int,
    batch: int,
    *,
    channels: int = 3,
    channels_last: bool = False,
    autocast: torch.dtype | None = None,
) -> int:
    """Peak bytes allocated on a GPU by one training step (forward, loss, backward, optimizer step) of a copy
    of ``module`` at ``batch`` × ``size``²: what the run's measured cost and ``resources: auto``'s packing
    both read. ``autocast``: the mixed-precision dtype, or None for float32."""
    import torch

    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    clone = copy.deepcopy(module).to(device)
    clone.train(True)
    if channels_last:
        clone = clone.to(memory_format=torch.channels_last)
    optimizer = clone.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    x = torch.rand(batch, channels, size, size, device=device)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    y = (torch.rand(batch, 1, size, size, device=device) > 0.9).float()
    with torch.autocast(device.type, dtype=autocast or torch.float32, enabled=autocast is not None):
        loss = clone.loss(clone.net(x), y)
    loss.backward()
    optimizer.step()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del clone, optimizer, loss, x, y
    torch.cuda.empty_cache()
    return int(peak)
