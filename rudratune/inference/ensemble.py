"""An ensemble of a sweep's best trials, chosen on validation data only.

Candidates: the top ``n`` trials that kept weights (n = 1..K), their probabilities averaged at each image's
own size, each without and with mirror TTA. Each is scored by its per-image Dice on the best trial's
validation split (images at their own size, thresholded at 0.5), against the best single trial without TTA.

**Noise rule**: a candidate helps when the mean of its paired per-image Dice differences to the best single
trial exceeds ``NOISE_SE`` standard errors of that mean (sd / sqrt(images)). Of those that help, the one
with the fewest forward passes per image (members × flips) is kept; when none helps, the best single trial.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rudratune.data.decode import binarize, read
from rudratune.data.folder import EXTENSIONS
from rudratune.data.split import split_indices
from rudratune.errors import UserError
from rudratune.inference.infer import FLIPS, device_for, probabilities
from rudratune.inference.members import Member, Predictor
from rudratune.inference.records import ENSEMBLE_KIND
from rudratune.inference.sources import kept_rows, no_weights, trial_member
from rudratune.search.record import load_record

NOISE_SE = 2.0
"""How many standard errors of the paired mean difference a gain must exceed."""


@dataclass(frozen=True)
class Candidate:
    members: int
    tta: bool
    passes: int
    val_dice: float
    gain: float
    se: float
    helps: bool


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two boolean masks; 1 when both are empty (as training's metric)."""
    total = int(pred.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * int((pred & truth).sum()) / total


def split_files(member: Member, split: str, output_root: str) -> tuple[list[Path], list[np.ndarray]]:
    """The image files and masks (their own size) of ``member``'s ``split`` (train, val or test), read from
    its data folder."""
    from rudratune.data.source import resolve_root

    root = resolve_root(member.cfg.data.root, output_root)
    stems = {p.stem: p for p in sorted((root / "images").glob("*")) if p.suffix.lower() in EXTENSIONS}
    masks = {p.stem: p for p in sorted((root / "masks").glob("*")) if p.suffix.lower() in EXTENSIONS}
    if not stems:
        raise UserError(f"{root}: its images are gone; the ensemble is chosen on its validation split")
    names = sorted(stems)
    cfg = member.cfg.data
    chosen = split_indices(
        len(names), val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=member.cfg.seed
    )[("train", "val", "test").index(split)]
    files = [stems[names[i]] for i in chosen]
    return files, [binarize(read(masks[names[i]], mask=True))[0] for i in chosen]


def per_image_dice(probs: list[np.ndarray], masks: list[np.ndarray]) -> np.ndarray:
    return np.array([dice(p > 0.5, m) for p, m in zip(probs, masks, strict=True)])


def compare(
    members: list[Member], files: list[Path], masks: list[np.ndarray], *, tta: bool = True
) -> list[Candidate]:
    """Every candidate's validation Dice and its paired gain over the first member alone, without TTA."""
    device = device_for()
    raws = [read(f) for f in files]
    options = (False, True) if tta else (False,)
    probs = {
        (i, t): probabilities(Predictor([m], tta=t), raws, device=device)
        for i, m in enumerate(members)
        for t in options
    }
    base = per_image_dice(probs[(0, False)], masks)
    out = []
    for n in range(1, len(members) + 1):
        for t in options:
            mean = [np.mean([probs[(i, t)][j] for i in range(n)], axis=0) for j in range(len(raws))]
            scores = per_image_dice(mean, masks)
            diff = scores - base
            se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else math.inf
            gain = float(diff.mean())
            helps = (n, t) != (1, False) and gain > 0 and gain > NOISE_SE * se
            out.append(Candidate(n, t, n * (len(FLIPS) if t else 1), float(scores.mean()), gain, se, helps))
    return out


def pick(candidates: list[Candidate]) -> Candidate:
    """The cheapest candidate that helps beyond noise (ties: the higher Dice), else the best single trial."""
    helping = [c for c in candidates if c.helps]
    if not helping:
        return next(c for c in candidates if (c.members, c.tta) == (1, False))
    return min(helping, key=lambda c: (c.passes, -c.val_dice))


def choose_ensemble(run_dir: str | Path, k: int) -> dict[str, Any]:
    """The ensemble file's content for sweep ``run_dir``: its top ``k`` trials compared on validation data,
    the chosen members with their configs, checkpoints and decodings."""
    if k < 1:
        raise UserError(f"--ensemble: K must be at least 1, got {k}")
    record = load_record(run_dir)
    rows = kept_rows(record)[:k]
    if not rows:
        raise no_weights(Path(run_dir), record.sweep.settings.checkpoints.keep_top_trials)
    members = [trial_member(record, r) for r in rows]
    files, masks = split_files(members[0], "val", record.output_root)
    candidates = compare(members, files, masks)
    chosen = pick(candidates)
    metric = record.sweep.settings.metric
    return {
        "kind": ENSEMBLE_KIND,
        "sweep": record.name,
        "sweep_dir": str(record.run_dir.resolve()),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "asked": k,
        "kept_weights": len(kept_rows(record)),
        "tta": chosen.tta,
        "rule": (
            f"cheapest candidate whose mean paired per-image val Dice gain over the best single trial exceeds "
            f"{NOISE_SE:g} standard errors; else the best single trial"
        ),
        "validation_images": len(files),
        "choice": asdict(chosen),
        "comparison": [asdict(c) for c in candidates],
        "members": [
            {
                "name": m.name,
                "checkpoint": str(m.checkpoint.resolve()),
                "image_size": m.image_size,
                f"sweep_{metric}": float(r.best.get(metric, math.nan)),
                "config": m.cfg.to_dict(),
                "decoding": m.describe()["decoding"],
            }
            for m, r in zip(members[: chosen.members], rows, strict=False)
        ],
    }


def comparison_lines(content: dict[str, Any]) -> list[str]:
    """The comparison as a table to print, the chosen row marked."""
    chosen = content["choice"]
    lines = [f"{'members':>7}  {'tta':>3}  {'passes':>6}  {'val_dice':>8}  {'gain':>8}  {'se':>7}  helps"]
    for c in content["comparison"]:
        mark = "  <- chosen" if (c["members"], c["tta"]) == (chosen["members"], chosen["tta"]) else ""
        lines.append(
            f"{c['members']:>7}  {'yes' if c['tta'] else 'no':>3}  {c['passes']:>6}  {c['val_dice']:8.4f}  "
            f"{c['gain']:+8.4f}  {c['se']:7.4f}  {'yes' if c['helps'] else 'no'}{mark}"
        )
    return lines
