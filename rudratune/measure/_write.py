"""Measurements to files: ``measurements.csv`` (one row per image), ``objects.csv`` (one row per object)
and ``size_histogram.png``."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from rudratune.measure._measure import ImageMeasurement, SizeStats
from rudratune.measure._pixel_size import UNITS

MEASUREMENTS_CSV = "measurements.csv"
OBJECTS_CSV = "objects.csv"
HISTOGRAM_PNG = "size_histogram.png"
STATS = ("mean", "median", "d10", "d50", "d90", "d10_area", "d50_area", "d90_area")


def report_unit(measurements: Sequence[ImageMeasurement]) -> str | None:
    """The one length unit of the physical columns: the unit all known pixel sizes share, else ``um``;
    None when no image has a pixel size (the physical columns are then left out)."""
    units = {m.pixel_size.unit for m in measurements if m.pixel_size is not None}
    if not units:
        return None
    return units.pop() if len(units) == 1 else "um"


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # pandas reads an empty cell as NaN; a spreadsheet shows it blank
    if isinstance(value, float):
        return f"{value:.8g}"
    return value


def _stats_cells(stats: SizeStats | None, suffix: str) -> dict[str, float | None]:
    return {
        f"{'equivalent_diameter_' if name in ('mean', 'median') else ''}{name}_{suffix}": (
            getattr(stats, name) if stats is not None else None
        )
        for name in STATS
    }


def image_rows(measurements: Sequence[ImageMeasurement], unit: str | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for m in measurements:
        row: dict[str, object] = {
            "image": m.name,
            "height_px": m.height,
            "width_px": m.width,
            "pixel_size": str(m.pixel_size) if m.pixel_size else None,
            "pixel_size_source": m.pixel_size.source if m.pixel_size else None,
            "connectivity": m.connectivity,
            "foreground_fraction": m.foreground_fraction,
            "object_count": m.count,
            "border_object_count": m.border_count,
            **_stats_cells(m.sizes_px, "px"),
        }
        if unit is not None:
            row |= _stats_cells(m.sizes_in(unit), unit)
        rows.append(row)
    return rows


def object_rows(measurements: Sequence[ImageMeasurement], unit: str | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for m in measurements:
        for o in m.objects:
            row: dict[str, object] = {
                "image": m.name,
                "object_id": o.id,
                "area_px": o.area_px,
                "equivalent_diameter_px": o.equivalent_diameter_px,
                "centroid_row": o.centroid_row,
                "centroid_col": o.centroid_col,
                "bbox_row_min": o.bbox[0],
                "bbox_col_min": o.bbox[1],
                "bbox_row_max": o.bbox[2],
                "bbox_col_max": o.bbox[3],
                "touches_border": o.touches_border,
            }
            if unit is not None:
                area = o.area_px * m.pixel_size.pixel_area / UNITS[unit] ** 2 if m.pixel_size else None
                row[f"area_{unit}2"] = area
                row[f"equivalent_diameter_{unit}"] = (
                    math.sqrt(4 * area / math.pi) if area is not None else None
                )
            rows.append(row)
    return rows


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    return path


def columns(unit: str | None) -> tuple[list[str], list[str]]:
    """The header of ``measurements.csv`` and of ``objects.csv`` (physical columns only with a unit)."""
    image = ["image", "height_px", "width_px", "pixel_size", "pixel_size_source", "connectivity"]
    image += ["foreground_fraction", "object_count", "border_object_count", *_stats_cells(None, "px")]
    objects = ["image", "object_id", "area_px", "equivalent_diameter_px", "centroid_row", "centroid_col"]
    objects += ["bbox_row_min", "bbox_col_min", "bbox_row_max", "bbox_col_max", "touches_border"]
    if unit is not None:
        image += list(_stats_cells(None, unit))
        objects += [f"area_{unit}2", f"equivalent_diameter_{unit}"]
    return image, objects


def write_measurements(measurements: Sequence[ImageMeasurement], out_dir: Path | str) -> list[Path]:
    """Write ``measurements.csv``, ``objects.csv`` and ``size_histogram.png`` into ``out_dir``.

    Physical columns (``d50_nm``, ``area_nm2``, ...) appear when at least one image has a pixel size, in
    the unit :func:`report_unit` picks; they are empty for images without one. Undefined numbers (sizes of
    an image with no objects) are empty cells, which pandas reads as NaN.

    Returns:
        The three paths, in that order.

    Example:
        >>> write_measurements([measure_mask(mask, name="a.png")], "out")
        [PosixPath('out/measurements.csv'), PosixPath('out/objects.csv'), PosixPath('out/size_histogram.png')]
    """
    from rudratune.measure._histogram import plot_size_histogram

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    unit = report_unit(measurements)
    image_fields, object_fields = columns(unit)
    return [
        _write_csv(out / MEASUREMENTS_CSV, image_fields, image_rows(measurements, unit)),
        _write_csv(out / OBJECTS_CSV, object_fields, object_rows(measurements, unit)),
        plot_size_histogram(measurements, out / HISTOGRAM_PNG, unit=unit),
    ]
