"""The report's Pareto section: the trained metric against inference latency, the front highlighted."""

from __future__ import annotations

from pathlib import Path

from rudratune.report.section import Section, _table
from rudratune.search.record import SweepRecord
from rudratune.search.results import TrialEnding, TrialRow, pareto_front

COST_AXIS = "latency_ms"


def axes(record: SweepRecord) -> tuple[str, str, str]:
    """(y metric, its mode, x cost): the primary objective against the sweep's cost objective (latency
    unless the objectives name another cost)."""
    from rudratune.train.cost import COST_KEYS

    names, modes = record.sweep.settings.objectives, record.sweep.settings.modes
    x = next((n for n in names[1:] if n in COST_KEYS), COST_AXIS)
    return names[0], modes[0], x


def architecture(record: SweepRecord, row: TrialRow) -> str:
    return str(row.params.get("model.name") or record.sweep.base.model.name)


def pareto_sections(record: SweepRecord, rows: list[TrialRow], out: Path) -> list[Section]:
    """The Pareto section where the sweep has more than one objective; none for a single-objective sweep
    (its trials' latencies are in the trial table, and a front of one objective is just the best trial)."""
    return [pareto_section(record, rows, out)] if record.sweep.settings.secondary else []


def pareto_section(record: SweepRecord, rows: list[TrialRow], out: Path) -> Section:
    y, mode, x = axes(record)
    front = pareto_front(rows, [y, x], [mode, "min"])
    title = f"Pareto front: {y} against {x}"
    measured = [r for r in rows if r.value(x) is not None]
    if not measured:
        return Section(title, notes=[f"No trial measured {x}."])
    image = front_plot(record, rows, front, y, x, out / "pareto.png")
    refused = [r for r in rows if r.ending is TrialEnding.REFUSED]
    notes = [
        f"Every trial's best {y} against its {x} (measured once per trial, before training), coloured by "
        "architecture. Ringed and joined: the front (no other feasible trial is at least as good on both "
        "and better on one). Grey crosses: infeasible trials (a constraint broke)."
    ]
    if refused:
        notes.append(
            f"{len(refused)} trial(s) refused before training (a cost constraint broke); not plotted."
        )
    header = ["trial", f"best {y}", x, "params_m", "model", "encoder"]
    cells = [
        [
            r.trial_id,
            r.value(y),
            r.value(x),
            r.cost.get("params_m"),
            architecture(record, r),
            r.params.get("model.encoder") or record.sweep.base.model.encoder or "",
        ]
        for r in sorted(front, key=lambda r: r.value(x) or 0.0)
    ]
    return Section(
        title, notes=notes, images=[image], table=_table(header, cells, numeric=frozenset({1, 2, 3}))
    )


def front_plot(
    record: SweepRecord,
    rows: list[TrialRow],
    front: list[TrialRow],
    y: str,
    x: str,
    path: Path,
) -> Path:
    from rudratune.report.plots import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    archs = sorted({architecture(record, r) for r in rows})
    colours = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(archs)}
    for arch in archs:
        points = [(r.value(x), r.value(y)) for r in rows if architecture(record, r) == arch and r.feasible]
        points = [p for p in points if None not in p]
        if points:
            ax.scatter(*zip(*points, strict=True), color=colours[arch], label=arch, s=30, zorder=2)
    grey = [(r.value(x), r.value(y)) for r in rows if not r.feasible]
    grey = [p for p in grey if None not in p]
    if grey:
        ax.scatter(*zip(*grey, strict=True), color="0.6", marker="x", label="infeasible", s=30, zorder=1)
    line = sorted((r.value(x) or 0.0, r.value(y) or 0.0) for r in front)
    if line:
        ax.plot(*zip(*line, strict=True), color="black", lw=1, drawstyle="steps-post", zorder=1)
        ax.scatter(
            *zip(*line, strict=True),
            facecolors="none",
            edgecolors="black",
            s=110,
            lw=1.4,
            label="Pareto front",
            zorder=3,
        )
    ax.set_xscale("log")
    ax.set_xlabel(f"{x} (log scale)")
    ax.set_ylabel(f"best {y}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)
