"""``rudratune models | losses | schedulers``: print a registry."""

from __future__ import annotations

import argparse

from rudratune.registry.losses import LOSSES
from rudratune.registry.models import MODELS
from rudratune.registry.optim import SCHEDULERS


def run(args: argparse.Namespace) -> int:
    if args.command == "models":
        for info in MODELS.values():
            extra = (
                f"  encoder: any smp encoder{' (tu- only)' if info.encoder_prefix else ''}"
                if info.uses_encoder
                else ""
            )
            print(f"{info.name:24} size: multiple of {info.size_multiple}, >= {info.min_size}{extra}")
    elif args.command == "losses":
        for loss in LOSSES.values():
            params = ", ".join(f"{k}={v}" for k, v in loss.params.items()) or "-"
            print(f"{loss.name:22} params: {params}")
    else:
        print("\n".join(SCHEDULERS))
    return 0
