"""``rudratune predict SOURCE IMAGES... -o OUT``: masks of new images from a train run, a sweep or an
ensemble, decoded as training decoded its data, with measurements of what was segmented."""

from __future__ import annotations

import argparse
from pathlib import Path

from rudratune.errors import UserError


def run(args: argparse.Namespace) -> int:
    # local: torch takes seconds; mistakes in what was typed are reported before
    from rudratune.inference import (
        Choice,
        PredictOptions,
        check_out,
        image_files,
        load_source,
        predict_images,
    )
    from rudratune.inference.infer import device_for
    from rudratune.measure import parse_pixel_size

    if args.batch_size < 1:
        raise UserError(f"--batch-size: must be at least 1, got {args.batch_size}")
    if args.tile is not None and args.tile < 16:
        raise UserError(f"--tile: a tile side of at least 16 pixels, got {args.tile}")
    device_for(args.device)  # a mistyped or absent device is said before the model loads
    options = PredictOptions(
        format=args.format,
        probabilities=args.probabilities,
        overlay=args.overlay,
        pixel_size=parse_pixel_size(args.pixel_size) if args.pixel_size else None,
        batch_size=args.batch_size,
        tile=args.tile,
        device=args.device,
        force=args.force,
        progress=not args.quiet,
    )
    out = Path(args.output).expanduser()
    files = image_files(args.images)
    predictor = load_source(
        args.source, Choice(sweep="best" if args.best else "auto"), output_root=args.output_root
    )
    if args.tta and predictor.forward is not None:
        raise UserError(
            "--tta: an MLflow model predicts as it was logged (no TTA); predict from its sweep or ensemble "
            "folder for mirror TTA"
        )
    if args.tta is not None:
        predictor.tta = args.tta
    check_out(out, predictor, force=args.force)
    print(f"predicting {len(files)} image(s) with {predictor.origin}", flush=True)
    predict_images(predictor, files, out, options)
    print(f"wrote {out}: masks/ ({args.format}), measurements.csv, objects.csv, size_histogram.png")
    return 0
