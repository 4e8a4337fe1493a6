"""``rudratune run SPACE --dry-run``: show the space, draw configs from the searcher, build each model once."""

from __future__ import annotations

import time
from typing import Any

from rudratune.errors import UserError
from rudratune.search.space import Sweep, define_by_run


def describe(key: str, param: Any) -> str:
    if param.kind == "value":
        text = f"= {param.value!r}"
    elif param.kind in ("values", "grid"):
        text = f"{param.kind} {param.choices}"
    else:
        step = f" step {param.q}" if param.q else ""
        text = f"{param.distribution} [{param.min}, {param.max}]{step}"
    when = " when " + ", ".join(f"{k} in {v}" for k, v in param.when.items()) if param.when else ""
    return f"  {key}: {text}{when}"


def draw(sweep: Sweep, samples: int) -> list[dict[str, Any]]:
    """The first ``samples`` suggestions of the sweep's own sampler (seeded), without training."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    searcher = sweep.settings.search.searcher
    if searcher.name == "optuna":
        sampler = optuna.samplers.TPESampler(seed=searcher.seed, n_startup_trials=searcher.n_startup_trials)
    else:
        sampler = optuna.samplers.RandomSampler(seed=searcher.seed)
    study = optuna.create_study(sampler=sampler)
    fn = define_by_run(sweep)
    configs = []
    for _ in range(samples):
        trial = study.ask()
        constants = fn(trial) or {}
        configs.append({**trial.params, **constants})
    return configs


def dry_run(sweep: Sweep, *, samples: int) -> int:
    import torch

    from rudratune.registry.models import build_model

    base = sweep.base_config
    settings = sweep.settings
    print(f"{sweep.source}: base {base.name}, metric {settings.metric} ({settings.direction}), "
          f"{settings.search.num_samples} trials, {settings.search.max_concurrent} at a time, "
          f"searcher {settings.search.searcher.name}, scheduler {settings.search.scheduler.name}, "
          f"max_t {sweep.max_epochs} epochs")  # fmt: skip
    print("space:")
    for key in sweep.order:
        print(describe(key, sweep.space[key]))
    configs = draw(sweep, samples)
    print(f"first {samples} suggestions:")
    failures: list[str] = []
    built: dict[tuple, str] = {}
    torch.set_num_threads(1)
    for i, params in enumerate(configs):
        cfg = sweep.trial_config(params, source=f"suggestion {i}")
        key = (cfg.model.name, cfg.model.encoder, cfg.data.image_size)
        if key not in built:
            start = time.perf_counter()
            try:
                net = build_model(
                    cfg.model.name, encoder=cfg.model.encoder, encoder_weights=None, image_size=key[2]
                )
                with torch.no_grad():
                    out = net.train(False)(torch.zeros(1, 3, key[2], key[2]))
                ok = tuple(out.shape) == (1, 1, key[2], key[2])
                built[key] = (
                    f"builds ({time.perf_counter() - start:.1f} s)"
                    if ok
                    else f"wrong output {tuple(out.shape)}"
                )
            except Exception as err:  # any failure to build is what the dry run is for
                built[key] = f"cannot build: {type(err).__name__}: {str(err).splitlines()[0][:120]}"
            if not built[key].startswith("builds"):
                failures.append(f"{key[0]} / {key[1]} at {key[2]} px: {built[key]}")
        shown = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        print(f"  {i:2d}: {shown}  [{built[key]}]")
    if failures:
        raise UserError(
            f"{sweep.source}: {len(failures)} model combination(s) cannot build; first: {failures[0]}"
        )
    print(f"ok: {len(built)} distinct model(s) built on a {'/'.join(str(k[2]) for k in built)} px tensor")
    print_packing(sweep)
    return 0


def print_packing(sweep: Sweep) -> None:
    """What ``resources: auto`` (or an ``auto`` key) resolves to on this machine, GPU memory measured."""
    import torch

    from rudratune.runtime import usable_cpus
    from rudratune.search.packing import estimate
    from rudratune.search.settings import Resources

    res = sweep.settings.resources
    res = Resources(cpu="auto", gpu="auto") if res == "auto" else res
    if "auto" not in (res.cpu, res.gpu):
        return
    total = {"CPU": usable_cpus(), "GPU": torch.cuda.device_count()}
    print(
        f"on this machine ({total['CPU']} CPUs, {total['GPU']} GPUs): {estimate(sweep, res, total).describe()}"
    )
