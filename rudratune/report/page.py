"""``report.html`` of a finished sweep: every trial (sortable), learning curves with ASHA rungs, interactive
plotly figures (plotly.js inlined), parameter importance, the best trial's predictions and its changes to the
base experiment."""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import os
import shutil
from pathlib import Path

from rudratune.errors import UserError
from rudratune.report.pareto import pareto_sections
from rudratune.report.section import Section
from rudratune.report.tables import table as _table
from rudratune.report.tables import trials_table
from rudratune.report.upload import log_report
from rudratune.search.record import SweepRecord, grace_text, sweep_rungs
from rudratune.search.results import TrialRow, ranked, read_results, trial_dir, trial_history
from rudratune.tracking.common import flat_params

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1180px;padding:24px 32px;color:#1d2430;background:#fff;line-height:1.45}
h1{margin:0 0 6px;font-size:26px}h2{margin:34px 0 8px;font-size:19px;border-bottom:2px solid #e3e7ee;padding-bottom:4px}
.summary{display:flex;flex-wrap:wrap;gap:8px 26px;background:#f4f6fa;border-radius:8px;padding:12px 16px;margin:10px 0}
.summary b{display:block;font-size:11px;color:#5b6475;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{padding:4px 10px;border-bottom:1px solid #e3e7ee;text-align:left}
th{background:#f4f6fa}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#fff6dc}
img{max-width:100%;height:auto;display:block;margin:6px 0}p.note{color:#5b6475;font-size:13px;margin:4px 0}
table.sortable th{cursor:pointer;user-select:none}table.sortable th[data-dir=asc]:after{content:" ▲"}
table.sortable th[data-dir=desc]:after{content:" ▼"}h3{font-size:15px;margin:18px 0 2px}
"""


def write_report(record: SweepRecord, *, log: bool = True) -> Path:
    """Write ``<run_dir>/report.html``, one self-contained page, with its figures under ``<run_dir>/report/``.

    Args:
        record: the finished sweep (``load_record(run_dir)``).
        log: also log the page and figures to the sweep's MLflow parent run and to a W&B report run,
            for each tracker the base experiment enables.

    Returns:
        The path of ``report.html``.

    Example:
        >>> write_report(load_record("runs/qs"), log=False)
        PosixPath('runs/qs/report.html')
    """
    settings = record.sweep.settings
    rows = read_results(record.run_dir, record.sweep.order)
    scored = ranked(rows, settings.metric, settings.direction)
    best = scored[0] if scored else None
    out, page = record.run_dir / "report", record.run_dir / "report.html"
    if page.is_dir():
        raise UserError(f"{page} is a folder; valid: a file the report can replace (move the folder away)")
    made, tmp = not out.exists(), page.with_name(f".report.html.tmp-{os.getpid()}")
    out.mkdir(exist_ok=True)
    try:  # a SIGTERM or a full disk leaves no half-written page, nor a figures folder it made
        histories = {r.trial_id: h for r in rows if (h := trial_history(trial_dir(record.run_dir, r)))}
        importance = importance_section(record, scored, out)
        sections = [
            trials_section(record, rows, scored, best),
            *pareto_sections(record, rows, out),
            curves_section(record, rows, histories, best, out),
            interactive_section(record, scored, histories, importance),
            parallel_section(record, scored, out),
            importance,
            predictions_section(record, best, out),
            changes_section(record, best),
        ]
        errored = [[r.trial_id, r.error] for r in rows if r.failed]
        if errored:
            sections.append(Section("Failed trials", table=_table(["trial", "error"], errored)))
        tmp.write_text(render(record, rows, best, sections))
        tmp.replace(page)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    if log:
        log_report(record, page, [image for s in sections for image in s.images])
    return page


def trials_section(
    record: SweepRecord, rows: list[TrialRow], scored: list[TrialRow], best: TrialRow | None
) -> Section:
    ordered = [*scored, *(r for r in rows if r not in scored)]
    section = Section(
        "Trials", table=trials_table(ordered, list(record.sweep.order), best.trial_id if best else None)
    )
    section.notes.append(
        f"All {len(rows)} trials, best first (highlighted: the best); click a column header to sort by it."
    )
    return section


def interactive_section(
    record: SweepRecord, scored: list[TrialRow], histories: dict[str, list], importance: Section
) -> Section:
    from rudratune.report import interactive  # local: optuna, plotly; importing this page stays cheap

    section = Section("Interactive figures")
    if not scored:
        section.notes.append("No trial reported a result.")
        return section
    sweep = record.sweep
    stored = interactive.stored_numbers(record.run_dir, record.name)
    study = interactive.rebuild_study(
        scored,
        histories,
        sweep.space,
        list(sweep.order),
        sweep.settings.metric,
        sweep.settings.direction,
        numbers=stored,
    )
    numbers = ", ".join(
        f"{t.number}: trial {t.user_attrs['rudratune_trial_id']}"
        for t in study.trials
        if "rudratune_trial_id" in t.user_attrs
    )
    same = "the numbers of the sweep's stored study (optuna-dashboard's)" if stored else "Optuna's numbers"
    section.notes.append(
        "Optuna's plotly figures over a study rebuilt from the results: every trial with its best value, "
        "stopped ones included (the stored study has them PRUNED, and Optuna's own figures and importance "
        f"leave PRUNED trials out) (hover, zoom, drag an axis to filter). Trials carry {same}: {numbers}."
    )
    for i, (title, sentence, fig) in enumerate(
        interactive.figures(study, sweep.settings.metric, importance.importances)
    ):
        section.figures.append((title, sentence, interactive.to_div(fig, f"figure-{i}")))
    return section


def curves_section(
    record: SweepRecord, rows: list[TrialRow], histories: dict[str, list], best: TrialRow | None, out: Path
) -> Section:
    from rudratune.report import plots  # local: torch, matplotlib; importing this page stays cheap

    section = Section("Learning curves")
    scheduler, max_t = record.sweep.settings.search.scheduler, record.sweep.max_epochs
    asha = scheduler.name == "asha"
    rungs = [r for r in sweep_rungs(scheduler, max_t, record.run_dir) if r < max_t]  # all end at max_t
    if not histories:
        section.notes.append("No trial folder with a progress.csv or result.json was found.")
        return section
    stopped = {r.trial_id for r in rows if r.stopped_by_asha}
    best_id = best.trial_id if best else None
    section.images.append(
        plots.learning_curves(
            histories, stopped, out / "learning_curves.png", rungs=rungs, best=best_id, max_t=max_t
        )
    )
    if asha:
        section.notes.append(
            f"Dotted lines: ASHA rungs at epochs {', '.join(map(str, rungs)) or '(none below max_t)'} (grace period "
            f"{grace_text(scheduler, record.run_dir)}, reduction factor {scheduler.reduction_factor:g}, "
            f"max_t {max_t}); dashed lines: trials ASHA stopped."
        )
    else:
        section.notes.append("FIFO scheduler: every trial ran until it completed or early-stopped.")
    return section


def parallel_section(record: SweepRecord, scored: list[TrialRow], out: Path) -> Section:
    from rudratune.report import plots  # local: torch, matplotlib; importing this page stays cheap

    section = Section("Parameters against the metric")
    if len(scored) < 2 or not record.sweep.order:
        section.notes.append("Needs at least two trials with a result and one varied parameter.")
        return section
    args = (scored, record.sweep.space, list(record.sweep.order), record.sweep.settings.metric)
    best = scored[0].trial_id
    section.images.append(plots.parallel_coordinates(*args, out / "parallel_coordinates.png", best=best))
    section.images.append(plots.slices(*args, out / "metric_by_parameter.png", best=best))
    section.notes.append(
        "Top: one line per trial, coloured by its best metric (thickest: the best trial); "
        "a gap is a parameter that is inactive in that trial. Below: the best metric against each "
        "parameter (red star: the best trial, hollow: stopped by ASHA)."
    )
    return section


def importance_section(record: SweepRecord, scored: list[TrialRow], out: Path) -> Section:
    # local: torch, matplotlib, optuna; importing this page stays cheap
    from rudratune.report import plots
    from rudratune.report.importance import param_importances

    section = Section("Hyperparameter importance")
    metric = record.sweep.settings.metric
    try:
        found, notes = param_importances(scored, record.sweep.space, list(record.sweep.order), metric)
    except (ValueError, RuntimeError, ZeroDivisionError) as err:
        found, notes = [], [f"Optuna could not estimate importances here ({type(err).__name__}: {err})."]
    section.importances = found
    if found:
        section.images.append(plots.importance_plot(found, metric, out / "importance.png"))
        section.notes.append(
            "Optuna's fANOVA evaluator on each trial's best metric: "
            "the share of the metric's variance each parameter explains."
        )
        rows = [[i.param, i.value, i.scope] for i in found]
        section.table = _table(["parameter", "importance", "measured on"], rows, numeric=frozenset({1}))
    section.notes.extend(notes)
    return section


def predictions_section(record: SweepRecord, best: TrialRow | None, out: Path) -> Section:
    from rudratune.report import plots  # local: torch, matplotlib; importing this page stays cheap

    section = Section("Best trial on the validation split")
    if best is None:
        section.notes.append("No trial reported a result.")
        return section
    ckpt = _checkpoint_file(record, best)
    if ckpt is None:
        where = best.checkpoint or "never saved"
        section.notes.append(
            f"The checkpoint of trial {best.trial_id} is gone ({where}); no predictions to show."
        )
        return section
    title = f"{record.name}: trial {best.trial_id}, validation split"
    section.images.append(
        plots.best_predictions(record, dict(best.params), ckpt, out / "predictions_val.png", title=title)
    )
    shown = ckpt.relative_to(record.run_dir) if ckpt.is_relative_to(record.run_dir) else ckpt
    section.notes.append(f"Trial {best.trial_id}, weights of its best epoch ({best.best_epoch}): {shown}")
    return section


def _checkpoint_file(record: SweepRecord, best: TrialRow) -> Path | None:
    given = best.checkpoint
    if not given:
        return None
    candidates = [Path(given) / "checkpoint.ckpt"]
    folder = trial_dir(record.run_dir, best)
    if folder is not None:  # the sweep folder may have moved since
        candidates.append(folder / Path(given).name / "checkpoint.ckpt")
    return next((c for c in candidates if c.is_file()), None)


def changes_section(record: SweepRecord, best: TrialRow | None) -> Section:
    section = Section("Best config against the base experiment")
    if best is None:
        return section
    tuned_cfg = record.sweep.trial_config(dict(best.params))
    base, tuned = (flat_params(c.to_dict(provenance=False)) for c in (record.sweep.base, tuned_cfg))
    unset = "(not set)"
    pairs = {k: (base.get(k, unset), tuned.get(k, unset)) for k in {**base, **tuned}}
    changed = [[k, old, new] for k, (old, new) in pairs.items() if old != new]
    if changed:
        section.table = _table(["key", "base", "best"], changed)
        section.notes.append(f"Export it as an experiment config with: rudratune export {record.run_dir}")
    else:
        section.notes.append("The best trial runs the base experiment unchanged.")
    return section


def _embed(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def render(record: SweepRecord, rows: list[TrialRow], best: TrialRow | None, sections: list[Section]) -> str:
    settings = record.sweep.settings
    search = settings.search
    facts = {
        "metric": f"{settings.metric} ({settings.direction})",
        "trials": f"{len(rows)} of {search.num_samples}",
        "stopped by ASHA": str(sum(r.stopped_by_asha for r in rows)),
        "errored": str(sum(r.failed for r in rows)),
        "searcher / scheduler": f"{search.searcher.name} / {search.scheduler.name}, max_t {record.sweep.max_epochs}",
    }
    if best is not None:
        facts["best"] = (
            f"trial {best.trial_id}: {settings.metric} {best.best[settings.metric]:.4f}, "
            f"val Dice {best.best.get('val_dice', math.nan):.4f} (epoch {best.best_epoch})"
        )
    summary = "".join(f"<div><b>{html.escape(k)}</b>{html.escape(v)}</div>" for k, v in facts.items())
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<h1>Sweep {html.escape(record.name)}</h1>",
        f"<p class=note>{html.escape(str(record.run_dir.resolve()))} · report written {made}</p>",
        f"<div class=summary>{summary}</div>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        parts.extend(f"<p class=note>{html.escape(n)}</p>" for n in s.notes)
        parts.extend(_embed(image) for image in s.images)
        parts.append(s.table)
        for title, sentence, div in s.figures:
            parts.append(f"<h3>{html.escape(title)}</h3><p class=note>{html.escape(sentence)}</p>{div}")
    title = html.escape(f"rudratune sweep {record.name}")
    script = ""
    if any(s.figures for s in sections):
        from rudratune.report.interactive import plotly_script

        script = plotly_script()
    head = f"<meta charset=utf-8><title>{title}</title><style>{STYLE}</style>{script}"
    return (
        f"<!DOCTYPE html>\n<html lang=en><head>{head}</head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
