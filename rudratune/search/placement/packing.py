"""``resources: auto``: split the CPUs between concurrent trials and pack GPUs by measured memory.

The peak GPU memory of one training step is measured (``torch.cuda.max_memory_allocated``) for each distinct
model of the space, at the config's batch and image size, on the driver's GPU. ``pack`` (pure arithmetic)
then picks the GPU fraction per trial so that the trials sharing a card use at most ``BUDGET`` of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rudratune.search.space import Resources, Sweep

if TYPE_CHECKING:
    from rudratune.config.schema import ExperimentConfig

BUDGET = 0.8
"""Share of a card that concurrent trials may fill."""
HEADROOM = 1.25
"""The caching allocator reserves more than the peak it hands out (fragmentation, cuDNN workspaces)."""
CONTEXT_BYTES = 600 * 2**20
"""What every trial process holds on its card besides tensors: the CUDA context and library handles."""
MODEL_KEYS = ("model.name", "model.encoder", "data.image_size", "data.batch_size", "trainer.precision")
MAX_MODELS = 12
GiB = 2**30


@dataclass(frozen=True)
class Packing:
    cpu: float
    gpu: float
    per_trial_bytes: int = 0
    trials_per_gpu: int = 0
    note: str = ""

    def describe(self) -> str:
        text = f"resources per trial: cpu {self.cpu:g}, gpu {self.gpu:g}"
        if self.per_trial_bytes:
            text += (
                f" ({self.per_trial_bytes / GiB:.2f} GiB per trial measured, "
                f"{self.trials_per_gpu} per GPU within {BUDGET:.0%} of the card)"
            )
        return text + (f"; {self.note}" if self.note else "")


def pack(
    peaks: Sequence[int],
    *,
    card_bytes: int,
    data_bytes: int = 0,
    gpus: float,
    max_concurrent: int,
    budget: float = BUDGET,
) -> tuple[float, int, int]:
    """GPU fraction per trial, trials per GPU and the bytes one trial needs, from measured peaks.

    A trial needs ``max(peaks) * HEADROOM + data_bytes + CONTEXT_BYTES``; ``budget * card_bytes // need``
    trials fit on a card. The fraction shares the GPUs evenly between ``max_concurrent`` trials, but never
    below what memory allows (floored to Ray's 4 decimals, so that exactly that many fit).
    """
    need = int(max(peaks) * HEADROOM) + data_bytes + CONTEXT_BYTES
    fit = max(1, int(budget * card_bytes // need))
    fraction = max(gpus / max_concurrent, 1 / fit)
    fraction = min(1.0, math.floor(fraction * 10_000) / 10_000)
    return fraction, int(1 / fraction + 1e-9), need


def model_configs(sweep: Sweep) -> list[ExperimentConfig]:
    """One config per distinct (model, encoder, image size, batch size, precision) the space can draw;
    continuous sizes count at their largest value (the worst case for memory)."""
    base = sweep.base
    choices: list[list[object]] = []
    for key in MODEL_KEYS:
        param = sweep.space.get(key)
        if param is None:
            section, name = key.split(".")
            choices.append([getattr(getattr(base, section), name)])
        elif param.choices is not None:
            choices.append(list(param.choices))
        else:
            choices.append([int(param.max or 0)])
    configs = []
    for values in itertools.islice(itertools.product(*choices), MAX_MODELS):
        try:
            configs.append(sweep.trial_config(dict(zip(MODEL_KEYS, values, strict=True))))
        except Exception:  # a combination the space cannot draw (e.g. an encoder for a MONAI net)
            continue
    return configs


def measure_peak(cfg: ExperimentConfig) -> int:
    """Peak bytes allocated on the current GPU by one forward, backward and optimizer step of ``cfg``."""
    import torch  # local: the packing arithmetic and the CPU path need no torch

    from rudratune.train.cost import peak_train_step  # local: only a GPU measurement builds a model
    from rudratune.train.loop import build_module
    from rudratune.train.settings import resolve_precision, use_channels_last

    module = build_module(cfg)
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(
        resolve_precision(cfg.trainer.precision, on_gpu=True)
    )
    return peak_train_step(
        module,
        torch.device("cuda"),
        cfg.data.image_size,
        cfg.data.batch_size,
        channels=3,
        channels_last=cfg.trainer.channels_last and use_channels_last(module.net),
        autocast=dtype,
    )


def packing_estimate(sweep: Sweep) -> str:
    """What ``resources: auto`` (or an ``auto`` key) resolves to on this machine (the dry run shows it);
    empty when no key is auto."""
    import torch  # local: the packing arithmetic and the CPU path need no torch

    from rudratune.runtime import usable_cpus

    res = sweep.settings.resources
    res = Resources(cpu="auto", gpu="auto") if res == "auto" else res
    if "auto" not in (res.cpu, res.gpu):
        return ""
    total = {"CPU": usable_cpus(), "GPU": torch.cuda.device_count()}
    return f"on this machine ({total['CPU']} CPUs, {total['GPU']} GPUs): {estimate(sweep, res, total).describe()}"


def estimate(sweep: Sweep, res: Resources, total: Mapping[str, float], *, samples: int = 0) -> Packing:
    max_concurrent = sweep.settings.search.max_concurrent
    gpus = float(total.get("GPU", 0))
    gpu, per_trial, per_gpu, note = res.gpu, 0, 0, ""
    if gpu == "auto" and not gpus:
        gpu = 0.0
    elif gpu == "auto":
        gpu, per_trial, per_gpu, note = _gpu_share(sweep, gpus, max_concurrent, samples)
    concurrent = max_concurrent if not (gpu and gpus) else min(max_concurrent, max(1, int(gpus / gpu + 1e-9)))
    cpu = res.cpu if res.cpu != "auto" else max(1, int(total.get("CPU", 1) // concurrent))
    return Packing(cpu, gpu, per_trial, per_gpu, note)


def _gpu_share(sweep: Sweep, gpus: float, max_concurrent: int, samples: int) -> tuple[float, int, int, str]:
    import torch  # local: the packing arithmetic and the CPU path need no torch

    even = min(1.0, math.floor(gpus / max_concurrent * 10_000) / 10_000)
    if not torch.cuda.is_available():
        return even, 0, 0, "no GPU in this process to measure on: GPUs split evenly between concurrent trials"
    configs = model_configs(sweep)
    peaks = []
    for cfg in configs:
        try:
            peaks.append(measure_peak(cfg))
        except torch.OutOfMemoryError:
            peaks.append(torch.cuda.get_device_properties(0).total_memory)
    if not peaks:
        return even, 0, 0, "no model of the space could be measured: GPUs split evenly"
    largest = max(configs, key=lambda c: c.data.image_size)
    data_bytes = samples * 4 * largest.data.image_size**2 * 4  # images (3 channels) + masks, float32
    card = torch.cuda.get_device_properties(0).total_memory
    fraction, per_gpu, need = pack(
        peaks, card_bytes=card, data_bytes=data_bytes, gpus=gpus, max_concurrent=max_concurrent
    )
    return fraction, need, per_gpu, f"{len(peaks)} distinct model(s) measured"


def resources_for(sweep: Sweep, *, samples: int = 0) -> dict[str, float]:
    """A trial's CPUs and (fractional) GPUs. ``auto`` (the whole section or one key) splits the cluster's
    CPUs between concurrent trials and packs GPUs by the measured memory of the space's models."""
    return resource_plan(sweep, samples=samples)[0]


def resource_plan(sweep: Sweep, *, samples: int = 0) -> tuple[dict[str, float], str]:
    """``resources_for`` and a line that says what ``auto`` resolved to (empty when nothing was auto)."""
    import ray  # local: the packing arithmetic needs no ray

    res = sweep.settings.resources
    res = Resources(cpu="auto", gpu="auto") if res == "auto" else res
    if res.cpu != "auto" and res.gpu != "auto":
        return {"cpu": res.cpu, "gpu": res.gpu}, ""
    packing = estimate(sweep, res, ray.cluster_resources(), samples=samples)
    return {"cpu": packing.cpu, "gpu": packing.gpu}, packing.describe()
