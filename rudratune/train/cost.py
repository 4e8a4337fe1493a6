"""What a model costs, measured on the run's own device before it trains (a few seconds).

- ``params_m``: parameters, in millions.
- ``flops_g``: GFLOPs of one forward pass of one image at the run's image size, counted by torch's own
  ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add is 2 FLOPs; convolutions, matmuls and
  attention, which dominate; elementwise ops are not counted). It does not depend on the machine's load, so
  it can decide where ``latency_ms`` cannot. Chosen over fvcore and thop: no new dependency, maintained with
  torch (it sees every op torch dispatches, so it follows new layers without a table of module types).
- ``latency_ms``: median of ``repeats`` timed forward passes after ``warmup`` untimed ones, batch 1 at the
  run's image size, eval mode, under ``torch.inference_mode`` (CUDA synchronized around each pass). On a CPU
  with one torch thread, whatever the run's: on a busy machine (more runnable threads than cores) torch's
  threads wait on each other at every op, and a pass with 2 threads took 1.5 to 6.6 s where one thread took
  0.09 to 0.23 s (Unet-mobilenet_v2, 64 px, load 27 on 2 cores); one thread is also the same figure for
  trials given different CPU counts.
- ``latency_spread_ms``: the interquartile range of those passes: how far the machine's load moved the
  figure while it was measured. Two latencies closer than their spread are not told apart
  (``export --pick fastest-within`` refuses to choose by them).
- ``peak_mem_mb``: GPU only: peak memory allocated by one training step (weights, gradients, optimizer
  state, activations) at the run's batch size, on a copy of the model (float32).

Measuring runs in a forked RNG and on copies, so the training that follows is the same as without it.
"""

from __future__ import annotations

import copy
import hashlib
import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

COST_KEYS = ("params_m", "flops_g", "latency_ms", "latency_spread_ms", "peak_mem_mb")
WARMUP, REPEATS = 3, 15


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
        cost["flops_g"] = _gflops(module.net, device, image_size, channels)
        key = (
            _structure(module.net),
            str(device),
            image_size,
            channels,
            torch.get_num_threads(),
            warmup,
            repeats,
        )
        if key not in _TIMED:
            _TIMED[key] = _latency_ms(module.net, device, image_size, channels, warmup, repeats)
        cost["latency_ms"], cost["latency_spread_ms"] = _TIMED[key]
        if device.type == "cuda":
            cost["peak_mem_mb"] = _peak_train_step_mb(module, device, image_size, batch_size, channels)
    return cost


_TIMED: dict[tuple[Any, ...], tuple[float, float]] = {}
"""Timings in this process by network structure, device, input and threads: trials of the same architecture,
encoder and size that run in one worker (Ray reuses its actors) get the same measured figure, so their order
by latency is not the load's."""


def _structure(net: torch.nn.Module) -> str:
    """The network's layers and shapes (not its weights): same architecture, encoder and channels, same text."""
    shapes = ",".join(f"{tuple(p.shape)}" for p in net.parameters())
    return hashlib.sha256(f"{net!r}|{shapes}".encode()).hexdigest()


def _sync(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _gflops(net: torch.nn.Module, device: torch.device, size: int, channels: int) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    clone = copy.deepcopy(net).to(device)
    clone.train(False)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        clone(torch.rand(1, channels, size, size, device=device))
    del clone
    return counter.get_total_flops() / 1e9


def _latency_ms(
    net: torch.nn.Module, device: torch.device, size: int, channels: int, warmup: int, repeats: int
) -> tuple[float, float]:
    """(median, interquartile range) of the timed passes, in ms."""
    import torch

    clone = copy.deepcopy(net).to(device)
    clone.train(False)
    x = torch.rand(1, channels, size, size, device=device)
    times = []
    threads = torch.get_num_threads()
    if device.type == "cpu":  # one thread: on a busy CPU, several threads wait on each other (see above)
        torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                _sync(device)
                start = time.perf_counter()
                clone(x)
                _sync(device)
                if i >= warmup:
                    times.append((time.perf_counter() - start) * 1000)
    finally:
        torch.set_num_threads(threads)
    del clone
    return statistics.median(times), spread(times)


def spread(times: list[float]) -> float:
    """Interquartile range (0 for a single value)."""
    if len(times) < 2:
        return 0.0
    low, _, high = statistics.quantiles(times, n=4, method="inclusive")
    return high - low


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
