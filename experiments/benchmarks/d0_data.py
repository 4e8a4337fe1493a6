"""D0 data: how far a global Otsu threshold gets on the embedded dataset, beside a trained model.

The Otsu Dice is computed on the embedded dataset's test split (``split_indices(128, seed=42)``) at its
native 256 px. The trained model's test Dice comes from P1's ``rudratune train`` run (or one run here at
P1's settings when P1 did not run). So that the two sit side by side on the same images, Otsu is also
scored on that run's own test split, resized to its training size as the model saw it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from common import EXPERIMENT, embedded_dataset, figure, md_table, verdict

OTSU_CEILING = 0.55
"""tests/data/test_synth.py holds the embedded set to this: a global threshold must not solve it."""


def _otsu_at(data: Any, indices: list[int], size: int | None) -> float:
    """Otsu Dice of ``data``'s pairs at ``indices``: native size, or resized as training resizes them."""
    from rudratune.data.baseline import otsu_dice

    subset = data.subset(indices)
    if size is None:
        # the network's [0, 1] values back to 8 bits: exact for the embedded set (8-bit grey, / 255)
        return otsu_dice(
            [np.round(subset.unit(i)[..., 0] * 255).astype(np.uint8) for i in range(len(subset))],
            list(subset.masks),
        )
    from rudratune.data.datamodule import to_tensors

    x, y = to_tensors(subset, size)
    images = [np.round(img[0].numpy() * 255).astype(np.uint8) for img in x]
    return otsu_dice(images, [m[0].numpy() > 0.5 for m in y])


def run(smoke: bool, output_root: Path) -> dict[str, Any]:
    from rudratune.config.experiment import load_experiment
    from rudratune.data.folder import load_folder
    from rudratune.data.split import split_indices

    embedded = load_folder(embedded_dataset(output_root))
    _, _, test = split_indices(len(embedded), seed=42)
    otsu = _otsu_at(embedded, test, None)

    cached = output_root / "p1" / "train_cli.json"
    if cached.exists():
        trained = json.loads(cached.read_text())
    else:
        import p1_overhead

        trained = p1_overhead.train_cli(smoke, output_root)
    cfg = load_experiment(EXPERIMENT, trained["overrides"])
    model_data = embedded if trained["data_root"] is None else load_folder(trained["data_root"])
    d = cfg.data
    _, _, model_test = split_indices(
        len(model_data), val_fraction=d.val_fraction, test_fraction=d.test_fraction, seed=cfg.seed
    )
    otsu_same = _otsu_at(model_data, model_test, d.image_size)
    model_dice = float(trained["test"]["test_dice"])
    ratio = model_dice / otsu_same if otsu_same else float("nan")

    which = "the embedded set" if trained["data_root"] is None else f"the {len(model_data)}-pair smoke set"
    met = otsu <= OTSU_CEILING
    return {
        "title": "D0 data",
        "conditions": (
            f"Otsu on the grey image, pores = pixels at or below the threshold, Dice per image against mask > 0, averaged. "
            f"Model: P1's `rudratune train` run ({cfg.model.name} {cfg.model.encoder}, {d.image_size} px, "
            f"{cfg.trainer.max_epochs} epochs on {which}), test Dice from its best checkpoint."
        ),
        "table": md_table(
            ["what", "images", "Dice"],
            [
                ["Otsu threshold", f"embedded test split, {len(test)} pairs at 256 px", f"{otsu:.4f}"],
                [
                    "Otsu threshold",
                    f"{which}: test split, {len(model_test)} pairs at {d.image_size} px",
                    f"{otsu_same:.4f}",
                ],
                [
                    "trained model",
                    f"{which}: test split, {len(model_test)} pairs at {d.image_size} px",
                    f"{model_dice:.4f}",
                ],
            ],
        ),
        "figures": [
            figure(
                "D0 Otsu Dice, embedded test split",
                otsu,
                f"{otsu:.4f}",
                goal=f"≤ {OTSU_CEILING}",
                met=met,
                meaning=f"A global Otsu threshold reaches a mean Dice of {otsu:.4f} on the embedded test split, so the "
                f"data needs more than a threshold: {verdict(met)} (≤ {OTSU_CEILING}, as tests/data/test_synth.py asserts).",
            ),
            figure(
                "D0 trained model / Otsu, test Dice on the same images",
                ratio,
                f"{ratio:.2f}×",
                meaning=f"On the same {len(model_test)} test images the trained model scores {model_dice:.4f} against "
                f"Otsu's {otsu_same:.4f} ({ratio:.2f}×)"
                + (
                    f"; the smoke model trains {cfg.trainer.max_epochs} epochs at {d.image_size} px, so it is not expected to beat Otsu."
                    if smoke
                    else "."
                ),
            ),
        ],
        "raw": {"otsu_embedded": otsu, "otsu_same_images": otsu_same, "model_test_dice": model_dice},
    }
