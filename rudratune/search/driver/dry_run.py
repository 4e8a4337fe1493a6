"""``rudratune run SPACE --dry-run``: draw configs from the searcher and build each model once. Prints nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rudratune.search.space import Param, Sweep, define_by_run
from rudratune.search.strategy import make_sampler


def describe(key: str, param: Param) -> str:
    if param.kind == "value":
        text = f"= {param.value!r}"
    elif param.kind in ("values", "grid"):
        text = f"{param.kind} {param.choices}"
    else:
        step = f" step {param.q:g}" if param.q else ""
        integer = param.dist is not None and param.dist.integer
        low, high = (f"{int(v)}" if integer else f"{v:g}" for v in (param.min or 0, param.max or 0))
        text = f"{param.distribution} [{low}, {high}]{step}"
    when = " when " + ", ".join(f"{k} in {v}" for k, v in param.when.items()) if param.when else ""
    return f"  {key}: {text}{when}"


def draw(sweep: Sweep, samples: int) -> list[dict[str, Any]]:
    """The first ``samples`` suggestions of the sweep's own sampler (seeded), without training."""
    import optuna  # local: `rudratune run` validates the space before paying for optuna's import

    study = optuna.create_study(sampler=make_sampler(sweep))
    fn = define_by_run(sweep)
    configs = []
    for _ in range(samples):
        trial = study.ask()
        constants = fn(trial) or {}
        configs.append({**trial.params, **constants})
    return configs


@dataclass(frozen=True)
class Suggestion:
    params: dict[str, Any]
    build: str
    """``builds (0.3 s)``, ``wrong output (...)`` or ``cannot build: ...``."""


@dataclass(frozen=True)
class DryRun:
    """What a dry run found: the suggestions with how their model built, and the failures among them."""

    suggestions: list[Suggestion]
    sizes: list[int]
    """The image size of each distinct model built."""
    failures: list[str]


def dry_run(sweep: Sweep, *, samples: int) -> DryRun:
    """Draw ``samples`` suggestions and build each distinct model once on a zero tensor."""
    # local: torch and the model libraries take seconds to import; a bad space is reported before
    import torch

    from rudratune.registry.models import build_model

    suggestions: list[Suggestion] = []
    failures: list[str] = []
    built: dict[tuple, str] = {}
    torch.set_num_threads(1)
    for i, params in enumerate(draw(sweep, samples)):
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
        suggestions.append(Suggestion(params, built[key]))
    return DryRun(suggestions, [key[2] for key in built], failures)
