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


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class LiveTable(Callback):
    """Prints status counts, elapsed time and an ETA, the best trial so far (by its best epoch, as the final
    summary ranks them) and the running trials' latest epoch."""

    def __init__(self, *, metric: str, mode: str, num_samples: int, every_s: float = 15.0) -> None:
        self.metric, self.mode, self.num_samples, self.every_s = metric, mode, num_samples, every_s
        self._last = 0.0
        self._start = time.monotonic()
        self._ended_here = 0
        """Trials that ended since this driver started (a resumed sweep's earlier trials don't count)."""
        self._best: dict[str, tuple[float, int]] = {}
        """trial id → (best metric, its epoch)."""

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        value = result.get(self.metric)
        if isinstance(value, (int, float)) and not math.isnan(value):
            old = self._best.get(trial.trial_id)
            better = old is None or (value < old[0] if self.mode == "min" else value > old[0])
            if better:
                self._best[trial.trial_id] = (float(value), int(result.get("epoch", 0)))
        if time.monotonic() - self._last >= self.every_s:
            self.print_table(trials)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended_here += 1
        self.print_table(trials, force=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended_here += 1

    def eta(self, ended: int) -> str:
        elapsed = time.monotonic() - self._start
        left = self.num_samples - ended
        if left <= 0:
            return "none left"
        if self._ended_here == 0:
            return "ETA after the first trial ends"
        return f"ETA ~{duration(elapsed / self._ended_here * left)}"

    def print_table(self, trials: list, *, force: bool = True) -> None:
        if not force and time.monotonic() - self._last < self.every_s / 3:
            return
        self._last = time.monotonic()
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        ended = counts.get("TERMINATED", 0) + counts.get("ERROR", 0)
        status = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        lines = [
            f"[{time.strftime('%H:%M:%S')}] trials {len(trials)}/{self.num_samples}: {status}; "
            f"elapsed {duration(time.monotonic() - self._start)}, {self.eta(ended)}"
        ]
        by_id = {t.trial_id: t for t in trials}
        known = [i for i in self._best if i in by_id]
        if known:
            pick = min if self.mode == "min" else max
            best_id = pick(known, key=lambda i: self._best[i][0])
            value, epoch = self._best[best_id]
            lines.append(
                f"  best {best_id}: {self.metric} {value:.4f} (epoch {epoch})  {_params(by_id[best_id])}"
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
        print("\n".join(fit(line) for line in lines), file=sys.stdout, flush=True)


def _number(value: Any) -> bool:
    """A score that can rank (a refused trial reports NaN)."""
    return isinstance(value, (int, float)) and not math.isnan(value)


def short_keys(keys: list[str]) -> list[str]:
    """Each key's last part (``lr``), or its last two where the last is shared (``flip.p``, ``noise.p``)."""
    last = [k.split(".")[-1] for k in keys]
    return [".".join(k.split(".")[-2:]) if last.count(x) > 1 else x for k, x in zip(keys, last, strict=True)]


WIDTH = 120
"""The live table's lines fit a 120-column terminal; ``rudratune show`` has the full key names."""


def fit(line: str, width: int = WIDTH) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def table_keys(keys: list[str]) -> list[str]:
    """Short names for the live table: ``loss.name`` → ``loss``, ``optimizer.lr`` → ``lr``, and the last two
    parts where the last is shared (``flip.p``, ``noise.p``)."""
    named = [k.rsplit(".", 1)[0] if k.endswith(".name") else k for k in keys]
    return short_keys(named)


def _params(trial: Any) -> str:
    keys = list(trial.config)
    return " ".join(
        f"{k}={short(trial.config[full])}" for k, full in zip(table_keys(keys), keys, strict=True)
    )
