"""Does a trial's request fit? Checked before anything starts: Ray would otherwise wait for ever, silently."""

from __future__ import annotations

from typing import Any

from rudratune.errors import UserError
from rudratune.runtime import gpu_count, usable_cpus
from rudratune.search.space import Resources, SweepSettings


def check_fits(
    settings: SweepSettings, accelerator: str, *, source: str, cpus: float, gpus: float, where: str
) -> None:
    """Refuse a request that no node can hold (``cpus`` and ``gpus``: the largest node's), in one line."""
    if isinstance(settings.resources, Resources):
        wanted = settings.resources
        if wanted.gpu != "auto" and wanted.gpu > gpus:
            valid = f"0 to {gpus:g}" if gpus else "0 (there is no GPU)"
            raise UserError(
                f"{source}: resources.gpu: a trial asks for {wanted.gpu:g} GPU(s) but {where} has "
                f"{gpus:g}; valid: {valid}"
            )
        if wanted.cpu != "auto" and wanted.cpu > cpus:
            raise UserError(
                f"{source}: resources.cpu: a trial asks for {wanted.cpu:g} CPU(s) but {where} has "
                f"{cpus:g}; valid: 1 to {cpus:g}, or resources: auto"
            )
        trial_gpus = gpus if wanted.gpu == "auto" else wanted.gpu
    else:
        trial_gpus = gpus
    if accelerator in ("gpu", "cuda") and not trial_gpus:
        raise UserError(
            f"{source}: trainer.accelerator: '{accelerator}' but a trial gets no GPU on {where}; "
            "valid: auto or cpu, or give trials resources.gpu"
        )


def check_local(settings: SweepSettings, accelerator: str, *, source: str) -> None:
    """Without Ray: against this machine (a local Ray sees the same CPUs and GPUs)."""
    check_fits(
        settings, accelerator, source=source, cpus=usable_cpus(), gpus=gpu_count(), where="this machine"
    )


def check_cluster(settings: SweepSettings, accelerator: str, *, source: str) -> None:
    """With Ray initialised: against the largest alive node of the cluster."""
    import ray

    nodes: list[dict[str, Any]] = [n for n in ray.nodes() if n.get("Alive")]
    cpus = max((n["Resources"].get("CPU", 0) for n in nodes), default=0)
    gpus = max((n["Resources"].get("GPU", 0) for n in nodes), default=0)
    check_fits(
        settings,
        accelerator,
        source=source,
        cpus=cpus,
        gpus=gpus,
        where="the largest node of the Ray cluster",
    )
