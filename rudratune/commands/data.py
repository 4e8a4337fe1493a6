"""``rudratune data synth [OUT]``: write the embedded synthetic dataset."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rudratune.config.schema import MAX_IMAGE_SIZE
from rudratune.data.source import embedded_root
from rudratune.data.synth import write_dataset
from rudratune.errors import UserError

MAX_SEED = 2**32 - 1
"""numpy's seeds are unsigned 32-bit numbers (the experiment's ``seed`` has the same range)."""


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else embedded_root(args.output_root)
    if out.exists() and not out.is_dir():
        raise UserError(f"data synth: {out} is a file; valid: a new or empty folder")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: already exists and is not empty; choose another folder")
    if args.n < 1 or not 32 <= args.size <= MAX_IMAGE_SIZE:
        raise UserError(
            f"data synth: --n must be >= 1 and --size between 32 and {MAX_IMAGE_SIZE} (got --n {args.n}, "
            f"--size {args.size}); one {MAX_IMAGE_SIZE}² image takes about 2 GB to render"
        )
    if not 0 <= args.seed <= MAX_SEED:
        raise UserError(f"data synth: --seed: got {args.seed}; valid: 0 to {MAX_SEED}")
    start = time.perf_counter()
    try:
        write_dataset(out, n=args.n, seed=args.seed, size=args.size)
    except OSError as err:
        raise UserError(f"{out}: cannot write ({err.strerror or err})") from None
    print(f"wrote {args.n} image/mask pairs to {out} in {time.perf_counter() - start:.1f} s")
    return 0
