"""Cost metrics are measured on the real model, once, without disturbing the training that follows."""

from __future__ import annotations

import copy

import pytest
import torch

from rudratune.config.schema import ExperimentConfig
from rudratune.train.cost import COST_KEYS, measure_cost
from rudratune.train.loop import build_module


def _module(name: str, encoder: str | None = "resnet18") -> object:
    cfg = ExperimentConfig.model_validate(
        {"model": {"name": name, "encoder": encoder}, "data": {"image_size": 32}}
    )
    return build_module(cfg)


def test_cost_is_measured_and_leaves_model_and_rng_alone() -> None:
    module = _module("smp.Unet")
    before = copy.deepcopy(module.state_dict())
    torch.manual_seed(5)
    cost = measure_cost(module, device=torch.device("cpu"), image_size=32, batch_size=2, repeats=3)
    after_measuring = torch.rand(4)
    torch.manual_seed(5)
    assert torch.equal(after_measuring, torch.rand(4)), "measuring consumed the run's random numbers"
    assert all(torch.equal(v, module.state_dict()[k]) for k, v in before.items())
    assert module.net.training, "measuring left the net in eval mode"
    assert cost["params_m"] == pytest.approx(sum(p.numel() for p in module.net.parameters()) / 1e6)
    assert cost["latency_ms"] > 0
    assert set(cost) <= set(COST_KEYS) and "peak_mem_mb" not in cost  # GPU only


def test_a_bigger_model_costs_more() -> None:
    small = measure_cost(
        _module("scratch.FCN8s", None), device=torch.device("cpu"), image_size=32, batch_size=2
    )
    large = measure_cost(
        _module("smp.Unet", "resnet34"), device=torch.device("cpu"), image_size=32, batch_size=2
    )
    assert large["params_m"] > small["params_m"]


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="peak memory of a training step is measured on a GPU"
)
def test_gpu_peak_memory_of_a_training_step() -> None:
    module = _module("smp.Unet")
    cost = measure_cost(module, device=torch.device("cuda"), image_size=64, batch_size=4, repeats=3)
    weights_mb = cost["params_m"] * 1e6 * 4 / 2**20
    assert cost["peak_mem_mb"] > 3 * weights_mb  # weights + gradients + Adam's two moments, at least


def test_flops_and_the_latency_of_one_architecture_do_not_depend_on_the_build() -> None:
    """Issue 19: identical networks measured 17 to 69 ms on a busy CPU. Two builds of one architecture get
    the same FLOPs (counted, not timed) and, in one process, the same timing with its spread."""
    cpu = torch.device("cpu")
    first, second = (
        measure_cost(_module("smp.Unet"), device=cpu, image_size=32, batch_size=2, repeats=4)
        for _ in range(2)
    )
    assert first["flops_g"] == second["flops_g"] > 0
    assert (first["latency_ms"], first["latency_spread_ms"]) == (
        second["latency_ms"],
        second["latency_spread_ms"],
    )
    assert first["latency_spread_ms"] >= 0
    other = measure_cost(_module("smp.Unet", "resnet34"), device=cpu, image_size=32, batch_size=2, repeats=4)
    assert other["flops_g"] > first["flops_g"]  # a deeper encoder: more FLOPs, whatever the load
    assert set(first) == {"params_m", "flops_g", "latency_ms", "latency_spread_ms"}
