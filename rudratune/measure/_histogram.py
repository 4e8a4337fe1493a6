"""The size distribution over all images as one PNG: object counts per equivalent-diameter bin, and the
share of the foreground area in each bin (the area-weighted distribution) on a second axis."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rudratune.measure._measure import ImageMeasurement
from rudratune.measure._pixel_size import UNITS

MAX_BINS = 60


def diameters_and_areas(
    measurements: Sequence[ImageMeasurement], unit: str | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Every object's equivalent diameter and area, in ``unit`` when every image that has objects has a
    pixel size, else in pixels; with the unit's name (``px`` for pixels)."""
    with_objects = [m for m in measurements if m.objects]
    if not all(m.pixel_size for m in with_objects):
        unit = None
    diameters, areas = [], []
    for m in with_objects:
        length = np.sqrt(m.pixel_size.pixel_area) / UNITS[unit] if unit and m.pixel_size else 1.0
        diameters += [o.equivalent_diameter_px * length for o in m.objects]
        areas += [o.area_px * length**2 for o in m.objects]
    return np.asarray(diameters, dtype=float), np.asarray(areas, dtype=float), unit or "px"


def plot_size_histogram(measurements: Sequence[ImageMeasurement], path: Path, *, unit: str | None) -> Path:
    """Draw the histogram to ``path`` (PNG, Agg backend), in ``unit`` (a key of ``UNITS``) where every image
    with objects has a pixel size, else in pixels; an image set with no objects says so in the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    diameters, areas, shown = diameters_and_areas(measurements, unit)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    try:
        if diameters.size:
            edges = np.histogram_bin_edges(diameters, bins="auto")
            if edges.size > MAX_BINS + 1:
                edges = np.linspace(diameters.min(), diameters.max(), MAX_BINS + 1)
            ax.hist(diameters, bins=edges, color="tab:blue", alpha=0.75, label="objects (count)")
            share, _ = np.histogram(diameters, bins=edges, weights=areas)
            twin = ax.twinx()
            twin.stairs(100 * share / share.sum(), edges, color="tab:orange", label="area share (%)")
            twin.set_ylabel("share of foreground area (%)")
            twin.set_ylim(bottom=0)
            handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
            ax.legend(handles=handles, loc="upper right", frameon=False)
        else:
            ax.text(0.5, 0.5, "no objects", ha="center", va="center", transform=ax.transAxes)
        images = len(measurements)
        ax.set_title(f"{diameters.size} objects in {images} image{'s' if images != 1 else ''}")
        ax.set_xlabel(f"equivalent diameter ({'µm' if shown == 'um' else shown})")
        ax.set_ylabel("objects")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
