"""Command line: parse arguments, hand over to a command module, turn user mistakes into exit code 2."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import shtab

from rudratune.errors import UserError
from rudratune.runtime import Terminated, disk_full, quiet_defaults
from rudratune.signals import terminate_as_interrupt

EPILOG = "Overrides use Hydra's grammar: key=value, +new.key=value, ~key (e.g. trainer.max_epochs=5)."
OVERRIDES = "key=value"
PICK_RULES = ("fastest-within", "smallest-within", "fewest-flops-within")
"""``export --pick`` rules, for completion (the rules themselves: ``rudratune.search.results.PICK_RULES``)."""
COMPLETE_PICK = {
    "bash": "_rudratune_pick",
    "zsh": f"({' '.join(PICK_RULES)})",
    "tcsh": f"({' '.join(PICK_RULES)})",
}
PREAMBLE = {
    "bash": "_rudratune_pick() {\n"
    '  if [[ "${COMP_WORDS[COMP_CWORD-1]}" == --pick ]]; then\n'
    f'    compgen -W "{" ".join(PICK_RULES)}" -- "$1"\n'
    "  fi\n"
    "}\n"
}
"""Bash completes ``--pick``'s first word (the rule), not its margin."""


def _files(action: argparse.Action) -> argparse.Action:
    action.complete = shtab.FILE  # type: ignore[attr-defined]
    return action


def _dirs(action: argparse.Action) -> argparse.Action:
    action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    return action


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("rudratune")
    except PackageNotFoundError:  # run from a source tree that was never pip-installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, like every other user mistake
        raise UserError(f"{message} (see {self.prog} --help)")


def _add_train(sub: Any) -> None:
    """``rudratune train CONFIG [key=value ...]``."""
    p = sub.add_parser("train", help="train one experiment config", epilog=EPILOG)
    _files(p.add_argument("config", help="experiment YAML, e.g. experiments/rudraksha.yaml"))
    p.add_argument(
        "overrides", nargs="*", metavar=OVERRIDES, help="optional overrides, e.g. optimizer.lr=3e-4"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--print-config", action="store_true", help="print the resolved experiment YAML and exit")
    p.set_defaults(module="train")


def _add_run(sub: Any) -> None:
    """``rudratune run SPACE [key=value ...]``."""
    p = sub.add_parser("run", help="run a hyperparameter search", epilog=EPILOG)
    _files(p.add_argument("space", help="search-space YAML, e.g. search_spaces/quickstart.yaml"))
    p.add_argument(
        "overrides", nargs="*", metavar=OVERRIDES, help="optional overrides of the sweep or its experiment"
    )
    p.add_argument("--name", help="sweep name (default: the space file's name and a timestamp)")
    p.add_argument("--dry-run", action="store_true", help="validate, draw configs, build models; no training")
    p.add_argument(
        "--dry-run-samples",
        type=int,
        default=8,
        metavar="N",
        help="configurations drawn by --dry-run (default 8)",
    )
    p.add_argument("--samples", dest="dry_run_samples", type=int, help=argparse.SUPPRESS)  # old name
    p.add_argument(
        "--print-config", action="store_true", help="print the resolved base experiment YAML and exit"
    )
    p.add_argument("--address", help="join a Ray cluster: auto, ray://host:10001 or host:6379")
    p.add_argument("--storage", help="where Ray keeps results and checkpoints (path, NFS path, s3://, gs://)")
    p.add_argument("--max-failures", type=int, help="retries of a failing trial from its last checkpoint")
    p.add_argument("--fail-fast", action="store_true", help="stop the sweep at the first trial error")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report at the end")
    p.set_defaults(module="run")


def _add_resume(sub: Any) -> None:
    """``rudratune resume RUN_DIR``."""
    p = sub.add_parser("resume", help="continue an interrupted sweep")
    _dirs(p.add_argument("run_dir", help="the sweep's folder, e.g. runs/quickstart-20261125-120000"))
    p.add_argument("--address", help="join a Ray cluster instead of starting a local one")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report at the end")
    p.set_defaults(module="resume")


def _add_show(sub: Any) -> None:
    """``rudratune show RUN_DIR [--json]``."""
    p = sub.add_parser("show", help="a finished or running sweep's trials and best trial")
    _dirs(p.add_argument("run_dir", help="the sweep's folder"))
    p.add_argument(
        "--json", action="store_true", help="machine-readable output (like optuna best-trial -f json)"
    )
    p.set_defaults(module="show")


def _add_export(sub: Any) -> None:
    """``rudratune export RUN_DIR [-o FILE] [--pick RULE M | --trial ID] [--onnx PATH] [--register NAME]``."""
    p = sub.add_parser("export", help="write a sweep's best trial as an experiment config")
    _dirs(
        p.add_argument("run_dir", help="the sweep's folder (--onnx / --register: also a train run's folder)")
    )
    _files(p.add_argument("-o", "--output", help="YAML to write (default: <run_dir>/best.yaml)"))
    p.add_argument("--force", action="store_true", help="overwrite an existing -o file")
    which = p.add_mutually_exclusive_group()
    pick = which.add_argument(
        "--pick",
        nargs=2,
        metavar=("RULE", "MARGIN"),
        help="fastest-within M: the lowest latency_ms within M of the best trial's metric "
        "(smallest-within M: the fewest parameters; fewest-flops-within M: the fewest GFLOPs)",
    )
    pick.complete = COMPLETE_PICK
    which.add_argument("--trial", help="export this trial instead of the best")
    which.add_argument(
        "--ensemble",
        type=int,
        metavar="K",
        help="an ensemble of the top K trials that kept weights, chosen on validation data "
        "(default -o: <run_dir>/ensemble.yaml)",
    )
    p.add_argument(
        "--onnx",
        metavar="PATH",
        help="write the network as ONNX (dynamic height and width) + PATH.json decoding",
    )
    p.add_argument("--register", metavar="NAME", help="register the served MLflow model under NAME")
    p.set_defaults(module="export")


def _add_predict(sub: Any) -> None:
    """``rudratune predict SOURCE IMAGES... -o OUT``."""
    p = sub.add_parser("predict", help="masks and measurements of new images")
    p.add_argument(
        "source",
        help="a train run folder, a sweep folder (its ensemble.yaml if exported, else its best trial), "
        "an ensemble file, or an MLflow model: models:/NAME/VERSION, models:/NAME@ALIAS, models:/m-ID "
        "(in $MLFLOW_TRACKING_URI, else the store under --output-root) or a model folder",
    )
    p.add_argument("images", nargs="+", help="image files or folders of them (png, jpg, tif, bmp)")
    p.add_argument("-o", "--output", required=True, help="folder to create for the masks and measurements")
    p.add_argument("--format", choices=("png", "tiff"), default="png", help="masks as 0/255 (default png)")
    p.add_argument(
        "--probabilities", action="store_true", help="also the probability maps (16-bit PNG / float TIFF)"
    )
    p.add_argument("--overlay", action="store_true", help="also the mask outline drawn on each image")
    p.add_argument("--pixel-size", help="physical pixel size for the measurements, e.g. 2.5nm")
    p.add_argument(
        "--best", action="store_true", help="a sweep folder: its best trial even if it has an ensemble"
    )
    tta = p.add_mutually_exclusive_group()
    tta.add_argument("--tta", dest="tta", action="store_true", default=None, help="mirror TTA (4 flips)")
    tta.add_argument(
        "--no-tta", dest="tta", action="store_false", help="no TTA, even for an ensemble with it"
    )
    p.add_argument(
        "--tile", type=int, metavar="PX", help="predict PX x PX tiles of large images (default: whole)"
    )
    p.add_argument("--batch-size", type=int, default=16, help="images per forward pass (default 16)")
    p.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, cuda:1")
    p.add_argument("--force", action="store_true", help="replace an existing non-empty -o folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(module="predict")


def _add_report(sub: Any) -> None:
    """``rudratune report RUN_DIR``."""
    p = sub.add_parser("report", help="write a sweep's HTML report")
    _dirs(p.add_argument("run_dir", help="the sweep's folder"))
    p.set_defaults(module="report")


def _add_data(sub: Any) -> None:
    """``rudratune data synth [OUT]``."""
    p = sub.add_parser("data", help="dataset tools")
    data_sub = p.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    s = data_sub.add_parser("synth", help="write the embedded synthetic SEM dataset")
    s.add_argument(
        "out", nargs="?", help="folder to create (default: <output-root>/datasets/synthetic-sem-v1)"
    )
    s.add_argument("--n", type=int, default=128, help="number of image/mask pairs (default 128)")
    s.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    s.add_argument("--seed", type=int, default=42)
    s.set_defaults(module="data")


def _add_listings(sub: Any) -> None:
    """``rudratune models | losses | schedulers``."""
    for name, what in (("models", "model"), ("losses", "loss"), ("schedulers", "LR scheduler")):
        p = sub.add_parser(name, help=f"list the {what} registry")
        p.set_defaults(module="listing")


SUBCOMMANDS = (
    _add_train,
    _add_run,
    _add_resume,
    _add_show,
    _add_export,
    _add_predict,
    _add_report,
    _add_data,
    _add_listings,
)
"""Each adds its subcommand(s) to the parser, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rudratune", description="Hyperparameter search for image segmentation.", epilog=EPILOG
    )
    parser.add_argument("--version", action="version", version=f"rudratune {version()}")
    # a static completion script (no Python start-up per TAB): rudratune --print-completion bash
    shtab.add_argument_to(
        parser, ["--print-completion"], help="print a bash/zsh/tcsh completion script", preamble=PREAMBLE
    )
    _dirs(
        parser.add_argument(
            "--output-root",
            default=os.environ.get("RUDRATUNE_OUTPUT_ROOT", "runs"),
            help="where every output goes (default: $RUDRATUNE_OUTPUT_ROOT or ./runs)",
        )
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for add in SUBCOMMANDS:
        add(sub)
    return parser


OUT_OF_SPACE = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this process's file-size limit (ulimit -f)",
}
"""Write errors that are the machine's, not a bug: said in one line by any command that met one (predict,
report and export --onnx printed a traceback). ``train`` and sweeps say their own, with what to resume."""


def out_of_space(err: OSError) -> str | None:
    """The one line for a full disk, a quota or a file-size limit in ``err`` (or its causes), else None."""
    found = err if err.errno in OUT_OF_SPACE else disk_full(err)
    if not isinstance(found, OSError) or found.errno not in OUT_OF_SPACE:
        return None
    where = found.filename or "writing the output"
    return f"{where}: {OUT_OF_SPACE[found.errno]}; free space (or raise the limit) and run again"


def main(argv: Sequence[str] | None = None, *, raise_user_errors: bool = False) -> int:
    """Run the command line; a user mistake prints one line and returns 2.

    With ``raise_user_errors`` (the Python API), the ``UserError`` is raised instead, its message unprinted.
    """
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # overrides may follow options (``run SPACE --name x a.b=1``): argparse leaves those in ``extra``
        unknown = [t for t in extra if "=" not in t and not t.startswith("~")]
        if unknown or (extra and not hasattr(args, "overrides")):
            parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    except SystemExit as exit_:  # --help, --version
        return int(exit_.code or 0)
    except UserError as err:  # a usage error
        if raise_user_errors:
            raise
        print(f"rudratune: error: {err}", file=sys.stderr)
        return 2
    if extra:
        args.overrides = [*args.overrides, *extra]
    quiet_defaults()
    # SIGTERM (Kubernetes, Slurm, docker stop) as Ctrl-C in every command: partial outputs are removed and
    # the exit is 143 (predict, export, report and data synth died at once, leaving them); train and the
    # sweep driver install their own handlers on top of this one
    terminate_as_interrupt()
    if not getattr(args, "address", None):
        # read when ray is imported: a local Ray then binds every process to 127.0.0.1, not eth0
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        command = importlib.import_module(f"rudratune.commands.{args.module}")
        return command.run(args)
    except UserError as err:
        from rudratune.commands.common import remove_empty_created

        remove_empty_created()
        if raise_user_errors:
            raise
        print(f"rudratune: error: {err}", file=sys.stderr)
        return 2
    except Terminated as stopped:  # SIGTERM or SIGINT under runtime.StopSignals
        print(stopped.line(), file=sys.stderr)
        return stopped.exit_code
    except OSError as err:
        line = out_of_space(err)
        if line is None:
            raise
        from rudratune.commands.common import remove_empty_created

        remove_empty_created()
        print(f"rudratune: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from rudratune.commands.common import remove_empty_created
        from rudratune.signals import interrupted_code, terminated

        remove_empty_created()
        print(f"rudratune: interrupted{' (SIGTERM)' if terminated() else ''}", file=sys.stderr)
        return interrupted_code()


if __name__ == "__main__":
    sys.exit(main())
