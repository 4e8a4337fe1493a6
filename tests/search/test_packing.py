"""Packing by memory (pure arithmetic, no GPU), ASHA's rungs, the checkpoint policy, resource overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudratune.search.driver.trial import CheckpointPolicy
from rudratune.search.placement.packing import BUDGET, CONTEXT_BYTES, HEADROOM, estimate, model_configs, pack
from rudratune.search.space import Resources, TrialSchedulerSettings, load_sweep
from tests.helpers import REPO

GiB = 2**30
H100 = 80 * GiB


def test_pack_fits_trials_within_the_budget() -> None:
    peak = 2 * GiB
    fraction, per_gpu, need = pack([peak, GiB], card_bytes=H100, gpus=1, max_concurrent=64)
    assert need == int(peak * HEADROOM) + CONTEXT_BYTES  # the largest model decides
    assert per_gpu == int(BUDGET * H100 // need) == 20
    assert per_gpu * need <= BUDGET * H100 < (per_gpu + 1) * need
    assert fraction == 0.05 and int(1 / fraction + 1e-9) == per_gpu


def test_pack_never_packs_more_than_memory_allows_nor_more_than_the_concurrency() -> None:
    # 4 concurrent trials on 1 GPU would share it by 0.25, but only 3 fit in memory: 0.3333 (3 fit in Ray)
    fraction, per_gpu, _ = pack([16 * GiB], card_bytes=H100, gpus=1, max_concurrent=4)
    assert (fraction, per_gpu) == (0.3333, 3) and 3 * fraction <= 1 < 4 * fraction
    # plenty of memory: the concurrency decides
    assert pack([GiB], card_bytes=H100, gpus=2, max_concurrent=4)[:2] == (0.5, 2)
    # a model bigger than the budget gets a whole card
    assert pack([100 * GiB], card_bytes=H100, gpus=1, max_concurrent=4)[:2] == (1.0, 1)
    # device-resident data counts
    assert pack([GiB], card_bytes=H100, data_bytes=30 * GiB, gpus=1, max_concurrent=8)[1] == 2


def test_estimate_without_gpus_splits_cpus(tmp_path: Path) -> None:
    sweep = load_sweep(REPO / "search_spaces" / "unet.yaml")
    packing = estimate(sweep, Resources(cpu="auto", gpu="auto"), {"CPU": 16})
    assert (packing.cpu, packing.gpu) == (4, 0)  # 4 concurrent trials
    packing = estimate(sweep, Resources(cpu="auto", gpu=0.5), {"CPU": 16, "GPU": 1})
    assert (packing.cpu, packing.gpu) == (8, 0.5)  # 2 fit on the one GPU
    models = {(c.model.name, c.model.encoder) for c in model_configs(sweep)}
    assert models == {("smp.Unet", e) for e in ("resnet18", "resnet34", "resnet50")}


def test_single_resource_keys_override_resources_auto() -> None:
    space = REPO / "search_spaces" / "unet.yaml"
    assert load_sweep(space).settings.resources == "auto"
    res = load_sweep(space, ["resources.gpu=0.25"]).settings.resources
    assert res == Resources(cpu="auto", gpu=0.25)
    res = load_sweep(space, ["resources.gpu=0.25", "resources.cpu=4"]).settings.resources
    assert res == Resources(cpu=4, gpu=0.25)
    assert load_sweep(space, ["resources={cpu:2,gpu:0.5}"]).settings.resources == Resources(cpu=2, gpu=0.5)


@pytest.mark.parametrize(
    ("grace", "rf", "max_t", "rungs"),
    [(1, 2, 12, (1, 2, 4, 8)), (5, 3, 100, (5, 15, 45)), (2, 2, 8, (2, 4, 8)), (1, 3, 1, (1,))],
)
def test_asha_rungs_match_ray(grace: int, rf: float, max_t: int, rungs: tuple[int, ...]) -> None:
    from ray.tune.schedulers.async_hyperband import _Bracket

    settings = TrialSchedulerSettings(grace_period=grace, reduction_factor=rf)
    assert settings.rungs(max_t) == rungs
    ray_rungs = sorted(int(-(-m // 1)) for m, _ in _Bracket(min(grace, max_t), max_t, rf, 0)._rungs)
    assert tuple(ray_rungs) == rungs
    assert TrialSchedulerSettings(name="fifo").rungs(max_t) == ()


def test_checkpoints_only_at_rungs_on_the_interval_and_at_the_end() -> None:
    policy = CheckpointPolicy(rungs=(1, 2, 4, 8), every_s=60, max_epochs=12)
    due = [policy.due(e, stopping=False, since_last_s=10) for e in range(1, 13)]
    assert [e for e, kind in enumerate(due, 1) if kind] == [1, 2, 4, 8, 12]
    assert due[-1] == "final" and set(due[:-1]) == {"full", None}
    assert policy.due(5, stopping=False, since_last_s=61) == "full"  # the interval
    assert policy.due(6, stopping=True, since_last_s=0) == "final"  # early stopping ends it
    assert [
        CheckpointPolicy(every_s=0, max_epochs=3).due(e, stopping=False, since_last_s=0) for e in (1, 2, 3)
    ] == [
        "full",
        "full",
        "final",
    ]
