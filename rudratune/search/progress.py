"""A concise live table of trials, printed by the driver at most every few seconds."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from ray.tune import Callback


def short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text.removeprefix("smp.") if len(text) < 24 else text[:21] + "…"


class LiveTable(Callback):
    """Prints status counts, the best trial so far and the running trials' latest epoch."""

    def __init__(self, *, metric: str, mode: str, num_samples: int, every_s: float = 15.0) -> None:
        self.metric, self.mode, self.num_samples, self.every_s = metric, mode, num_samples, every_s
        self._last = 0.0

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self.print_table(trials)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.print_table(trials, force=False)

    def print_table(self, trials: list, *, force: bool = True) -> None:
        if not force and time.monotonic() - self._last < self.every_s / 3:
            return
        self._last = time.monotonic()
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        scored = [t for t in trials if _number((t.last_result or {}).get(self.metric))]
        pick = min if self.mode == "min" else max
        best = pick(scored, key=lambda t: t.last_result[self.metric], default=None)
        status = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        lines = [f"[{time.strftime('%H:%M:%S')}] trials {len(trials)}/{self.num_samples}: {status}"]
        if best is not None:
            lines.append(
                f"  best {best.trial_id}: {self.metric} {best.last_result[self.metric]:.4f}  {_params(best)}"
            )
        for t in trials:
            r = t.last_result or {}
            if r.get("refused"):
                lines.append(f"  {t.trial_id} {r['refused']}  {_params(t)}")
            elif t.status == "RUNNING" and "epoch" in r:
                lines.append(
                    f"  {t.trial_id} epoch {r.get('epoch', '?')}: val_loss {r.get('val_loss', float('nan')):.4f} "
                    f"val_dice {r.get('val_dice', float('nan')):.4f}  {_params(t)}"
                )
        print("\n".join(lines), file=sys.stdout, flush=True)


def _number(value: Any) -> bool:
    """A score that can rank (a refused trial reports NaN)."""
    return isinstance(value, (int, float)) and not math.isnan(value)


def short_keys(keys: list[str]) -> list[str]:
    """Each key's last part (``lr``), or its last two where the last is shared (``flip.p``, ``noise.p``)."""
    last = [k.split(".")[-1] for k in keys]
    return [".".join(k.split(".")[-2:]) if last.count(x) > 1 else x for k, x in zip(keys, last, strict=True)]


def _params(trial: Any) -> str:
    keys = list(trial.config)
    return " ".join(
        f"{name}={short(trial.config[k])}" for k, name in zip(keys, short_keys(keys), strict=True)
    )
