"""``rudratune export RUN_DIR --ensemble K [-o FILE]``: an ensemble of the sweep's top K trials, chosen on
validation data (``rudratune.inference.ensemble``), written as a file ``rudratune predict`` takes as SOURCE."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from rudratune.errors import UserError


def check_output(out: Path, run_dir: Path, *, force: bool) -> None:
    """Never over an existing file without ``--force``; inside the sweep folder only its ``ensemble.yaml``."""
    from rudratune.inference import ENSEMBLE

    if not out.parent.is_dir():
        raise UserError(f"-o: folder {out.parent} does not exist")
    target, sweep = out.resolve(), run_dir.resolve()
    if target != sweep / ENSEMBLE and (target == sweep or sweep in target.parents):
        raise UserError(
            f"-o: {out} is inside the sweep folder {run_dir}, which holds its records; "
            f"valid: a path outside it, or {run_dir / ENSEMBLE} (the default)"
        )
    if out.is_dir():
        raise UserError(f"-o: {out} is a folder; give a file name, e.g. {out / ENSEMBLE}")
    if out.exists() and not force:
        raise UserError(f"-o: {out} already exists; pass --force to overwrite it")


def run(args: argparse.Namespace) -> int:
    from rudratune.inference import ENSEMBLE
    from rudratune.inference.ensemble import choose_ensemble, comparison_lines

    run_dir = Path(args.run_dir)
    out = Path(args.output).expanduser() if args.output else run_dir / ENSEMBLE
    check_output(out, run_dir, force=args.force)
    content = choose_ensemble(run_dir, args.ensemble)
    tmp = out.with_name(f".{out.name}.tmp")
    header = (
        f"# Exported by `rudratune export --ensemble {args.ensemble}` from sweep {content['sweep']}.\n"
        f"# Predict with: rudratune predict {out} IMAGES -o OUT\n"
    )
    try:
        tmp.write_text(header + yaml.safe_dump(content, sort_keys=False))
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(f"-o: cannot write {out} ({err.strerror})") from None
    print(f"validation: {content['validation_images']} images; {content['rule']}")
    print("\n".join(comparison_lines(content)))
    c = content["choice"]
    print(
        f"wrote {out}: {c['members']} member(s) ({', '.join(m['name'] for m in content['members'])})"
        f"{', mirror TTA' if c['tta'] else ''}; {content['kept_weights']} trial(s) had kept weights"
    )
    return 0
