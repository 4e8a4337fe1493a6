"""A2 Pareto sweep: the front a finished multi-objective sweep found, and what it cost in trial-epochs.

    rudratune run search_spaces/pareto.yaml --name pareto
    python experiments/benchmarks/a2_pareto.py runs/pareto

Trial-epochs are the epochs every trial ran, summed (refused trials ran none); beside them, what the
same trials would have cost had every one run to ``trainer.max_epochs`` (no ASHA, no refusal).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import md_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from rudratune.search.record import load_record
    from rudratune.search.results import pareto_front, read_results
    from rudratune.search.space import trained_value

    run_dir = Path((argv or sys.argv[1:])[0])
    record = load_record(run_dir)
    settings = record.sweep.settings
    rows = read_results(record)
    front = pareto_front(rows, settings.objectives, settings.modes)
    used = sum(int(r.get("epochs") or 0) for r in rows)
    full = len(rows) * record.sweep.max_epochs
    refused = sum(str(r.get("reason", "")).startswith("refused") for r in rows)
    stopped = sum("ASHA" in str(r.get("reason", "")) for r in rows)
    print(
        f"sweep {record.name}: {len(rows)} trials, objectives {settings.objectives} {settings.modes}, "
        f"constraints {settings.constraints or 'none'}"
    )
    print(
        f"trial-epochs: {used} of {full} had every trial run {record.sweep.max_epochs} epochs "
        f"(ratio {used / full:.2f}); {stopped} stopped by ASHA, {refused} refused before training"
    )
    header = ["trial", "model", "encoder", *settings.objectives, "params_m", "epochs"]
    table = [
        [
            r["trial_id"],
            r.get("model.name", ""),
            r.get("model.encoder", ""),
            *(f"{trained_value(r, k):.4g}" for k in settings.objectives),
            f"{float(r['params_m']):.2f}",
            r["epochs"],
        ]
        for r in sorted(front, key=lambda r: trained_value(r, settings.objectives[-1]))
    ]
    print("\n".join(md_table(header, table)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
