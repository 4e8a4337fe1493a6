"""``predict`` from files to an output folder, written whole or not at all: everything goes into a hidden
folder beside OUT, renamed to OUT at the end (and removed on any error)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rudratune.data import preprocess
from rudratune.errors import UserError
from rudratune.inference.images import read_image
from rudratune.inference.infer import ChannelError, device_for, probabilities, tiled
from rudratune.inference.members import Predictor
from rudratune.inference.outputs import MASK_FORMATS, PROBABILITY_FORMATS, write_overlay
from rudratune.measure import PixelSize, measure_mask, resolve_pixel_size, write_measurements

THRESHOLD = 0.5


@dataclass(frozen=True)
class PredictOptions:
    """How ``predict`` runs and what it writes (the command's options)."""

    format: str = "png"
    probabilities: bool = False
    overlay: bool = False
    pixel_size: PixelSize | None = None
    batch_size: int = 16
    tile: int | None = None
    device: str = "auto"
    force: bool = False
    progress: bool = True


def check_out(out: Path, predictor: Predictor, *, force: bool) -> None:
    """OUT is refused inside the source's tree or rudratune's package, and when it is a file or a non-empty
    folder (without ``force``)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in str(out)):
        raise UserError(f"-o: {str(out)!r} holds a control character; valid: a plain folder name")
    target = out.resolve()
    package = Path(__file__).resolve().parents[1]
    for root in (*predictor.roots, package):
        root = root.resolve()
        if target == root or root in target.parents:
            raise UserError(
                f"-o: {out} is inside {root}, the source's own folder; valid: a folder outside it"
            )
    if out.exists() and not out.is_dir():
        raise UserError(f"-o: {out} is a file; valid: a folder (new, empty, or existing with --force)")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"-o: {out} exists and is not empty; pass --force to replace it")
    if not out.parent.is_dir():
        raise UserError(f"-o: folder {out.parent} does not exist")


def predict_images(predictor: Predictor, files: list[Path], out: Path, options: PredictOptions) -> Path:
    """Masks (and what ``options`` asks for) of ``files`` into ``out``; returns ``out``."""
    if options.format not in MASK_FORMATS:
        raise UserError(f"--format: '{options.format}'; valid: {', '.join(MASK_FORMATS)}")
    check_out(out, predictor, force=options.force)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    _remove_dead_partials(out)
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _write_all(predictor, files, partial, options)
        if out.exists():
            if not options.force and any(out.iterdir()):  # another predict to the same -o finished first
                raise UserError(
                    f"-o: {out} was written meanwhile (by another command?); pass --force to replace it"
                )
            shutil.rmtree(out)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out


def _remove_dead_partials(out: Path) -> None:
    """The hidden folders of earlier predicts to ``out`` whose process is gone (``kill -9``): removed."""
    for left in out.parent.glob(f".{out.name}.partial-*"):
        pid = left.name.rpartition("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(left, ignore_errors=True)


def _write_all(predictor: Predictor, files: list[Path], out: Path, options: PredictOptions) -> None:
    folders = ["masks"] + ["probabilities"] * options.probabilities + ["overlays"] * options.overlay
    for folder in folders:
        (out / folder).mkdir(parents=True)
    device = device_for(options.device)
    progress = _Progress(len(files), on=options.progress)
    measured, start = [], time.perf_counter()
    for i in range(0, len(files), max(1, options.batch_size)):
        batch = files[i : i + options.batch_size]
        raws = [read_image(f) for f in batch]
        for f, raw, p in zip(
            batch, raws, _probabilities(predictor, batch, raws, options, device), strict=True
        ):
            mask = p > THRESHOLD
            MASK_FORMATS[options.format](out / "masks" / f.stem, mask)
            if options.probabilities:
                PROBABILITY_FORMATS[options.format](out / "probabilities" / f.stem, p)
            if options.overlay:
                display = preprocess.apply(predictor.display_decoding, raw)
                write_overlay(out / "overlays" / f.stem, display, mask)
            measured.append(
                measure_mask(mask, name=f.name, pixel_size=resolve_pixel_size(options.pixel_size, f))
            )
        progress.step(i + len(batch))
    progress.close()
    write_measurements(measured, out)
    seconds = time.perf_counter() - start
    (out / "predict.json").write_text(
        json.dumps(_record(predictor, files, options, device, seconds), indent=2)
    )


def _probabilities(
    predictor: Predictor,
    files: list[Path],
    raws: list[np.ndarray],
    options: PredictOptions,
    device: torch.device,
) -> list[np.ndarray]:
    try:
        if options.tile:
            return [tiled(predictor, raw, options.tile, device=device) for raw in raws]
        return probabilities(predictor, raws, device=device)
    except ChannelError:
        bad = next(f for f, r in zip(files, raws, strict=True) if r.ndim == 3 and r.shape[-1] >= 3)
        raise UserError(
            f"IMAGES: {bad} is a colour image; the network was trained on {predictor.channels}-channel "
            "(grey) images; valid: grey images (convert it first)"
        ) from None


def _record(
    predictor: Predictor, files: list[Path], options: PredictOptions, device: object, seconds: float
) -> dict[str, object]:
    return {
        "source": predictor.origin,
        "tta": predictor.tta,
        "threshold": THRESHOLD,
        "tile": options.tile,
        "device": str(device),
        "images": len(files),
        "seconds": round(seconds, 3),
        "members": predictor.describe(),
    }


class _Progress:
    """``predicting N/M images`` on stderr, rewritten in place, only on a terminal."""

    def __init__(self, total: int, *, on: bool) -> None:
        self.total, self.on = total, on and total > 1 and sys.stderr.isatty()

    def step(self, done: int) -> None:
        if self.on:
            print(f"\rpredicting {done}/{self.total} images", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.on:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
