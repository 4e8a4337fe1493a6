"""Checks of the GPU paths (issue 10), run once on a lent GPU by ``gpu_checks.sh``; every step guarded.

    python experiments/benchmarks/gpu_checks.py OUT_DIR [--budget-s 200]

Writes OUT_DIR/gpu_checks.json after every step (partial results survive a timeout):
- device: name, memory, bf16 support, what ``trainer.precision: auto`` resolves to;
- data: the split tensors on the device (``placement: auto``), and the host path (``placement: host``);
- settings: median epoch time of ``train()`` (smp.Unet-resnet34, 256 px, batch 8, the 78 training images)
  for fp32, bf16, bf16 + channels_last, + deterministic, + torch.compile (its warm-up = first epoch - median);
- determinism: the same seed twice gives the same val_loss history (deterministic on, and off);
- memory: the packing estimate per model against the peak a real run allocated.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
RESULTS: dict[str, Any] = {}


def save(out: Path) -> None:
    (out / "gpu_checks.json").write_text(json.dumps(RESULTS, indent=2, default=str))


def step(name: str, out: Path, fn: Any, *args: Any) -> Any:
    start = time.perf_counter()
    try:
        RESULTS[name] = fn(*args)
    except Exception as err:  # one failing check must not hide the others
        RESULTS[name] = {"error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()[-3000:]}
    print(
        f"[{name}] {time.perf_counter() - start:.1f} s: {json.dumps(RESULTS[name], default=str)[:600]}",
        flush=True,
    )
    save(out)
    return RESULTS[name]


def device() -> dict[str, Any]:
    import torch

    from rudratune.train.settings import resolve_precision

    props = torch.cuda.get_device_properties(0)
    return {
        "name": props.name,
        "memory_gib": props.total_memory / 2**30,
        "torch": torch.__version__,
        "bf16": torch.cuda.is_bf16_supported(),
        "auto_precision": resolve_precision("auto", on_gpu=True),
    }


def _cfg(*overrides: str) -> Any:
    from rudratune.config.experiment import load_experiment

    base = [
        "model.name=smp.Unet",
        "model.encoder=resnet34",
        "data.image_size=256",
        "tracking.mlflow=false",
        "tracking.wandb=false",
        "trainer.early_stopping_patience=1000",
        "trainer.max_epochs=6",
        "trainer.deterministic=false",
        "trainer.channels_last=false",
        "trainer.precision=32-true",
    ]
    return load_experiment(REPO / "experiments" / "rudraksha.yaml", [*base, *overrides])


def _train(cfg: Any, data: Any) -> dict[str, Any]:
    import lightning as L
    import torch

    from rudratune.train.loop import RunOptions, train

    class Timer(L.Callback):
        starts: list[float] = []
        on_device: bool | None = None

        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            torch.cuda.synchronize()
            self.starts.append(time.perf_counter())
            dm = trainer.datamodule
            self.on_device = getattr(dm, "on_device", None)

    timer = Timer()
    timer.starts = []
    torch.cuda.reset_peak_memory_stats()
    run_dir = Path(tempfile.mkdtemp(prefix="gpuchk-"))
    result = train(
        cfg,
        data,
        RunOptions(
            run_dir=run_dir, checkpoints=False, test=False, artifacts=False, progress=False, callbacks=[timer]
        ),
    )
    torch.cuda.synchronize()
    end = time.perf_counter()
    epochs = [b - a for a, b in zip(timer.starts, [*timer.starts[1:], end], strict=True)]
    return {
        "epoch_s": [round(e, 4) for e in epochs],
        "median_s": statistics.median(epochs[1:]),
        "first_s": epochs[0],
        "val_loss": [r.get("val_loss") for r in result.history],
        "peak_mib": torch.cuda.max_memory_allocated() / 2**20,
        "on_device": timer.on_device,
    }


def settings(data: Any, out: Path) -> None:
    variants = {
        "fp32": [],
        "bf16": ["trainer.precision=bf16-mixed"],
        "bf16_channels_last": ["trainer.precision=bf16-mixed", "trainer.channels_last=true"],
        "bf16_cl_deterministic": [
            "trainer.precision=bf16-mixed",
            "trainer.channels_last=true",
            "trainer.deterministic=true",
        ],
        "fp32_deterministic": ["trainer.deterministic=true"],
        "bf16_host_data": ["trainer.precision=bf16-mixed", "data.placement=host"],
        "bf16_cl_again": ["trainer.precision=bf16-mixed", "trainer.channels_last=true"],
        "bf16_cl_det_again": [
            "trainer.precision=bf16-mixed",
            "trainer.channels_last=true",
            "trainer.deterministic=true",
        ],
        "bf16_cl_compile": [
            "trainer.precision=bf16-mixed",
            "trainer.channels_last=true",
            "trainer.compile=true",
        ],
    }
    for name, overrides in variants.items():
        step(f"train_{name}", out, _train, _cfg(*overrides), data)
    r = RESULTS
    RESULTS["determinism"] = {
        "deterministic_same_history": _same(r, "train_bf16_cl_deterministic", "train_bf16_cl_det_again"),
        "nondeterministic_same_history": _same(r, "train_bf16_channels_last", "train_bf16_cl_again"),
    }
    save(out)


def _same(r: dict[str, Any], a: str, b: str) -> bool | None:
    if "val_loss" not in r.get(a, {}) or "val_loss" not in r.get(b, {}):
        return None
    return r[a]["val_loss"] == r[b]["val_loss"]


def memory() -> dict[str, Any]:
    import torch

    from rudratune.search.placement.packing import BUDGET, measure_peak, pack
    from rudratune.search.space import load_sweep

    sweep = load_sweep(REPO / "search_spaces" / "unet.yaml", ["trainer.precision=bf16-mixed"])
    from rudratune.search.placement.packing import model_configs

    out = {}
    for cfg in model_configs(sweep):
        peak = measure_peak(cfg)
        out[cfg.model.encoder] = {"peak_mib": peak / 2**20}
    peaks = [int(v["peak_mib"] * 2**20) for v in out.values()]
    card = torch.cuda.get_device_properties(0).total_memory
    fraction, per_gpu, need = pack(
        peaks, card_bytes=card, data_bytes=128 * 4 * 256**2 * 4, gpus=1, max_concurrent=64
    )
    out["pack"] = {
        "fraction": fraction,
        "trials_per_gpu": per_gpu,
        "need_mib": need / 2**20,
        "budget": BUDGET,
    }
    return out


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "gpu-out")
    out.mkdir(parents=True, exist_ok=True)
    from rudratune.data.source import load_data
    from rudratune.runtime import quiet_defaults

    quiet_defaults()
    step("device", out, device)
    step("memory", out, memory)
    data = load_data(None, tempfile.mkdtemp(prefix="gpuchk-data-"))
    settings(data, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
