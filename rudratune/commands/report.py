"""``rudratune report RUN_DIR``: write (again) the HTML report of a finished sweep."""

from __future__ import annotations

import argparse

from rudratune.errors import UserError


def run(args: argparse.Namespace) -> int:
    # local: the report imports matplotlib and torch; the CLI imports this module for every `report`
    from rudratune.report.page import write_report
    from rudratune.search import load_record, read_results

    record = load_record(args.run_dir)
    if not read_results(record.run_dir, record.sweep.order):
        raise UserError(
            f"{args.run_dir}: no finished trial to report (no results.json yet; finish it with "
            f"rudratune resume {args.run_dir})"
        )
    print(write_report(record))
    return 0
