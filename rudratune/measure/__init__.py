"""Measurements of what a mask shows: how much foreground, how many objects, how big.

Definitions (one binary mask at the image's own size; pass masks resized back to the image, never at a
network's input size, so that sizes count the image's own pixels and a pixel size applies to them):

- **foreground_fraction**: foreground pixels / all pixels (the area porosity of a pore mask).
- **objects**: connected components of the foreground, labelled with ``scipy.ndimage.label``. Default
  **8-connectivity** (pixels touching by a corner are one object), as scikit-image's ``label`` and ImageJ's
  Analyze Particles do in 2-D; ``connectivity=4`` joins only edge neighbours. Two pores that meet at a single
  corner pixel count as one with 8, two with 4.
- **area**: pixel count. **Equivalent diameter**: the diameter of the circle of equal area,
  ``sqrt(4 * area / pi)`` (scikit-image's ``equivalent_diameter_area``, the Heywood diameter). In physical
  units, ``area * pixel_width * pixel_height``, so non-square pixels are handled.
- **Size statistics** over all objects of an image, border-touching ones included (``objects.csv`` has
  ``touches_border`` to drop them; cut objects are biased small):
  - ``mean``, ``median``, ``d10``/``d50``/``d90``: **number-weighted** (each object counts once;
    ``d50 == median``);
  - ``d10_area``/``d50_area``/``d90_area``: **area-weighted**, as particle-size analysis reports them:
    ``d50_area`` is the diameter below which half the foreground area lies;
  - both read off the cumulative distribution with each object at the middle of its weight, interpolated
    linearly (with equal weights this is ``numpy.percentile(method="hazen")``);
  - an image with no objects has NaN sizes (empty cells in the CSV).
- **touches_border**: some pixel of the object lies in the first or last row or column.
- **Centroid** ``(centroid_row, centroid_col)`` and **bbox** ``(row_min, col_min, row_max, col_max)``, the max
  exclusive, in pixels from the top-left corner.
- **Pixel size**: ``--pixel-size 2.5nm`` (:func:`parse_pixel_size`) wins over the file; else a trusted TIFF tag
  (:func:`pixel_size_from_tiff`: FEI/Thermo, Zeiss SEM, OME, calibrated ImageJ; never the plain dpi tags);
  :func:`resolve_pixel_size` applies that rule.

Example:
    >>> from rudratune.measure import measure_mask, parse_pixel_size, write_measurements
    >>> m = measure_mask(mask, name="pores_01.png", pixel_size=parse_pixel_size("2.5nm"))
    >>> m.count, m.sizes_px.d50
    >>> write_measurements([m], "out")
"""

from __future__ import annotations

from rudratune.measure._measure import (
    ImageMeasurement,
    ObjectMeasurement,
    SizeStats,
    measure_mask,
    weighted_quantiles,
)
from rudratune.measure._pixel_size import PixelSize, parse_pixel_size
from rudratune.measure._tiff import pixel_size_from_tiff, resolve_pixel_size
from rudratune.measure._write import HISTOGRAM_PNG, MEASUREMENTS_CSV, OBJECTS_CSV, write_measurements

__all__ = [
    "HISTOGRAM_PNG",
    "MEASUREMENTS_CSV",
    "OBJECTS_CSV",
    "ImageMeasurement",
    "ObjectMeasurement",
    "PixelSize",
    "SizeStats",
    "measure_mask",
    "parse_pixel_size",
    "pixel_size_from_tiff",
    "resolve_pixel_size",
    "weighted_quantiles",
    "write_measurements",
]
