"""HTML tables of the report: a plain one, and the complete trial table that sorts on a header click."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rudratune.search.results import TrialRow

# Click a header to sort by it (again: reverse); numbers sort as numbers, empty cells last.
SORT_JS = """
document.querySelectorAll("table.sortable th").forEach((th, i) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], asc = th.dataset.dir !== "asc";
  th.closest("tr").querySelectorAll("th").forEach(h => delete h.dataset.dir);
  th.dataset.dir = asc ? "asc" : "desc";
  const key = r => { const c = r.cells[i]; return c.dataset.v !== undefined ? parseFloat(c.dataset.v) : c.textContent; };
  const cmp = (a, b) => typeof a === "number" ? a - b : a.localeCompare(b, undefined, {numeric: true});
  [...body.rows].sort((x, y) => {
    const a = key(x), b = key(y), ea = a === "" || Number.isNaN(a), eb = b === "" || Number.isNaN(b);
    return ea || eb ? ea - eb : (asc ? 1 : -1) * cmp(a, b);
  }).forEach(r => body.appendChild(r));
}));
"""
FIXED: tuple[tuple[str, Callable[[TrialRow], Any]], ...] = (
    ("trial", lambda r: r.trial_id),
    ("status", lambda r: r.status),
    ("how it ended", lambda r: r.reason),
    ("epochs", lambda r: r.epochs),
    ("best epoch", lambda r: r.best_epoch),
    ("best val_loss", lambda r: r.best.get("val_loss")),
    ("best val_dice", lambda r: r.best.get("val_dice")),
    ("last val_loss", lambda r: r.last.get("val_loss")),
    ("last val_dice", lambda r: r.last.get("val_dice")),
)
"""The table's first columns: header and how to read it off a row; the parameters follow."""


def _text(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def table(
    header: list[str], rows: list[list[Any]], *, numeric: frozenset[int] = frozenset(), mark: int = -1
) -> str:
    """A plain table; ``numeric`` columns align right, row ``mark`` is highlighted."""

    def cell(j: int, value: Any) -> str:
        return f"<td{' class=n' if j in numeric else ''}>{html.escape(_text(value))}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr{' class=best' if i == mark else ''}>{''.join(cell(j, v) for j, v in enumerate(row))}</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def trials_table(rows: list[TrialRow], params: list[str], best_id: str | None) -> str:
    """Every trial, one row each, with full dotted parameter names; sortable by any column."""
    if not rows:
        return "<p class=note>No trial ran.</p>"
    columns = [*FIXED, *((p, _param(p)) for p in params)]
    head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in columns)
    values = [[read(row) for _, read in columns] for row in rows]
    numeric = {j for j in range(1, len(columns)) if any(_number(v[j]) is not None for v in values)}
    body = []
    for row, row_values in zip(rows, values, strict=True):
        cells = []
        for key, value in enumerate(row_values):
            if key in numeric and (number := _number(value)) is not None:
                cells.append(f'<td class=n data-v="{number!r}">{html.escape(_text(value))}</td>')
            elif key in numeric:
                cells.append('<td class=n data-v=""></td>')
            else:
                cells.append(f"<td>{html.escape(_text(value))}</td>")
        mark = " class=best" if row.trial_id == best_id else ""
        body.append(f"<tr{mark}>{''.join(cells)}</tr>")
    return (
        f"<table class=sortable><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<script>{SORT_JS}</script>"
    )


def _param(key: str) -> Callable[[TrialRow], Any]:
    return lambda row: row.params.get(key)
