"""Interactive plotly figures of a sweep: Optuna's own visualisations over a study rebuilt from the results,
and the importances as a bar chart. plotly.js is inlined once per page, so the page opens offline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rudratune.report.importance import Importance, as_value, distribution
from rudratune.search.record import STUDY_DB, STUDY_JOURNAL, load_study
from rudratune.search.results import TrialRow
from rudratune.search.space import Param

if TYPE_CHECKING:
    import optuna

CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png"}}


def plotly_script() -> str:
    """plotly.js itself, inlined (about 4.6 MB): no CDN, no network."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def stored_numbers(run_dir: Path, study_name: str) -> dict[str, int]:
    """Ray trial id → its trial number in the sweep's stored Optuna study (what optuna-dashboard shows);
    empty when the study has none (a sweep from before the ids were stored)."""
    import optuna

    if not any((Path(run_dir) / f).is_file() for f in (STUDY_JOURNAL, STUDY_DB)):
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = load_study(Path(run_dir), study_name)
    except (KeyError, ValueError, RuntimeError):  # no such study in the file
        return {}
    return {
        str(t.user_attrs["ray_trial_id"]): t.number for t in study.trials if "ray_trial_id" in t.user_attrs
    }


def rebuild_study(
    rows: list[TrialRow],
    histories: dict[str, list[dict[str, float]]],
    space: dict[str, Param],
    order: list[str],
    metric: str,
    direction: str,
    numbers: dict[str, int] | None = None,
) -> optuna.Study:
    """An in-memory Optuna study with one COMPLETE trial per scored row (its best metric as the value)
    and the per-epoch metric as intermediate values; inactive conditional parameters are left out.

    With ``numbers`` (``stored_numbers``), each trial gets the number it has in the sweep's stored study:
    rows go in that order, and the stored trials with no result here become FAIL trials in between.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {k: d for k in order if (d := distribution(space[k])) is not None}
    study = optuna.create_study(direction="minimize" if direction == "min" else "maximize")
    if numbers and all(r.trial_id in numbers for r in rows):
        known = numbers
        rows = sorted(rows, key=lambda r: known[r.trial_id])
    else:
        numbers = None
    for row in rows:
        while numbers and len(study.trials) < numbers[row.trial_id]:  # a stored trial with no result
            study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
        keys = [k for k in dists if k in row.params]
        steps = {
            int(h["epoch"]): float(h[metric])
            for h in histories.get(row.trial_id, [])
            if not math.isnan(h.get(metric, math.nan))
        }
        study.add_trial(
            optuna.trial.create_trial(
                params={k: as_value(dists[k], row.params[k]) for k in keys},
                distributions={k: dists[k] for k in keys},
                value=float(row.best[metric]),
                intermediate_values=steps,
                user_attrs={"rudratune_trial_id": row.trial_id},
            )
        )
    return study


def figures(study: optuna.Study, metric: str, importances: list[Importance]) -> list[tuple[str, str, Any]]:
    """(title, sentence, plotly figure) for each figure this sweep can show."""
    from optuna import visualization as vis

    target = f"best {metric}"
    out = []
    if study.trials and study.trials[0].distributions and len(study.trials) >= 2:
        out.append(
            (
                "Parallel coordinates",
                "One line per trial; drag along an axis to filter.",
                vis.plot_parallel_coordinate(study, target_name=target),
            )
        )
    if any(t.intermediate_values for t in study.trials):
        out.append(
            (
                "Intermediate values",
                f"{metric} per epoch of every trial (hover for the trial number).",
                _per_epoch(vis.plot_intermediate_values(study), metric),
            )
        )
    if study.trials and study.trials[0].distributions:
        out.append(
            (
                "Slice",
                "The best metric against each parameter, one panel per parameter.",
                vis.plot_slice(study, target_name=target),
            )
        )
    if importances:
        out.append(
            ("Importance", "fANOVA importance, as in the table below.", importance_figure(importances))
        )
    return out


def _per_epoch(fig: Any, metric: str) -> Any:
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text=metric)
    return fig


def importance_figure(importances: list[Importance]) -> Any:
    import plotly.graph_objects as go

    ordered = sorted(importances, key=lambda i: i.value)
    fig = go.Figure(
        go.Bar(
            x=[i.value for i in ordered],
            y=[i.param for i in ordered],
            orientation="h",
            customdata=[i.scope for i in ordered],
            hovertemplate="%{y}: %{x:.3f}<br>measured on %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Hyperparameter importance (fANOVA)",
        xaxis_title="share of the metric's variance",
        height=max(260, 60 + 40 * len(ordered)),
    )
    return fig


def to_div(fig: Any, div_id: str) -> str:
    """The figure as a ``<div>`` and the script that draws it, without plotly.js (inlined once per page)."""
    return fig.to_html(
        full_html=False, include_plotlyjs=False, config=CONFIG, div_id=div_id, default_width="100%"
    )
