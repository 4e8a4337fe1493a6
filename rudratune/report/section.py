"""A report section (title, notes, figures, a table) and the HTML table the sections share."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    table: str = ""
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    """Interactive figures: (title, sentence, the plotly ``<div>`` and its script)."""
    importances: list[Any] = field(default_factory=list)


def _table(
    header: list[str], rows: list[list[Any]], *, numeric: frozenset[int] = frozenset(), mark: int = -1
) -> str:
    def cell(j: int, value: Any) -> str:
        text = f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)
        return f"<td{' class=n' if j in numeric else ''}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr{' class=best' if i == mark else ''}>{''.join(cell(j, v) for j, v in enumerate(row))}</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"
