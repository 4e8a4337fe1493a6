"""One binary mask to its objects (connected components) and the image's summary numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from scipy import ndimage

from rudratune.measure._pixel_size import UNITS, PixelSize

Connectivity = Literal[4, 8]
QUANTILES = (0.10, 0.50, 0.90)


@dataclass(frozen=True)
class ObjectMeasurement:
    """One connected component of a mask, in the mask's own pixels.

    Attributes:
        id: the component's label (1, 2, ... in raster order: first pixel met row by row).
        area_px: its pixel count.
        equivalent_diameter_px: the diameter of the circle of the same area, ``sqrt(4 * area / pi)``.
        centroid_row, centroid_col: the mean row and column of its pixels (pixel centres at integers).
        bbox: ``(row_min, col_min, row_max, col_max)``, the max exclusive (as in scikit-image).
        touches_border: whether any of its pixels lies in the image's first or last row or column.
    """

    id: int
    area_px: int
    equivalent_diameter_px: float
    centroid_row: float
    centroid_col: float
    bbox: tuple[int, int, int, int]
    touches_border: bool


@dataclass(frozen=True)
class SizeStats:
    """Equivalent-diameter statistics over some objects; NaN where there are none.

    ``d10``, ``d50``, ``d90`` are number-weighted (each object counts once; ``d50 == median``). The
    ``*_area`` ones are area-weighted: ``d50_area`` is the diameter below which half the foreground area lies,
    the convention of particle-size analysis (sieving and laser diffraction weight by mass or volume).
    """

    mean: float
    median: float
    d10: float
    d50: float
    d90: float
    d10_area: float
    d50_area: float
    d90_area: float

    def scaled(self, factor: float) -> SizeStats:
        """The same statistics with every diameter multiplied by ``factor`` (pixels to a length unit)."""
        return SizeStats(*(getattr(self, name) * factor for name in SizeStats.__dataclass_fields__))


@dataclass(frozen=True)
class ImageMeasurement:
    """What one mask shows: its objects and their summary.

    Attributes:
        name: the image's name, as written in the ``image`` column.
        height, width: the mask's shape in pixels.
        connectivity: 4 or 8, as used for the labelling.
        foreground_fraction: foreground pixels over all pixels (the area porosity of a pore mask).
        objects: one :class:`ObjectMeasurement` per connected component, by id.
        pixel_size: the physical size of one pixel, or None when unknown (sizes are then in pixels only).
    """

    name: str
    height: int
    width: int
    connectivity: Connectivity
    foreground_fraction: float
    objects: tuple[ObjectMeasurement, ...]
    pixel_size: PixelSize | None = None

    @property
    def count(self) -> int:
        return len(self.objects)

    @property
    def border_count(self) -> int:
        """How many objects touch the image border (their sizes are cut, so biased small)."""
        return sum(obj.touches_border for obj in self.objects)

    @cached_property
    def sizes_px(self) -> SizeStats:
        """Equivalent-diameter statistics over all objects, border-touching ones included, in pixels."""
        return size_stats(
            np.array([o.equivalent_diameter_px for o in self.objects], dtype=float),
            np.array([o.area_px for o in self.objects], dtype=float),
        )

    def sizes_in(self, unit: str) -> SizeStats | None:
        """:attr:`sizes_px` in a length unit (a key of ``UNITS``: ``nm``, ``um``, ...), or None without a
        pixel size. A diameter scales by ``sqrt(pixel width * pixel height)``, right for non-square pixels too."""
        if self.pixel_size is None:
            return None
        return self.sizes_px.scaled(math.sqrt(self.pixel_size.pixel_area) / UNITS[unit])


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of ``values`` weighted by ``weights``, interpolated between the objects' mid-points.

    Each sorted value sits at the middle of its own share of the total weight, ``(cumsum - w / 2) / total``,
    and a quantile is read off that curve by linear interpolation, clamped to the smallest and largest
    value. With equal weights this is ``np.percentile(..., method="hazen")``, whose 0.5 quantile is the
    median. NaN for no values.
    """
    if values.size == 0:
        return [math.nan] * len(qs)
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    positions = (cum - w / 2) / cum[-1]
    return [float(np.interp(q, positions, v)) for q in qs]


def size_stats(diameters: np.ndarray, areas: np.ndarray) -> SizeStats:
    """The statistics of :class:`SizeStats` for objects of these equivalent diameters and areas."""
    if diameters.size == 0:
        return SizeStats(*([math.nan] * 8))
    d10, d50, d90 = weighted_quantiles(diameters, np.ones_like(diameters), QUANTILES)
    a10, a50, a90 = weighted_quantiles(diameters, areas, QUANTILES)
    return SizeStats(float(diameters.mean()), d50, d10, d50, d90, a10, a50, a90)


def foreground(mask: np.ndarray) -> np.ndarray:
    """A mask as booleans: bool as is, integers non-zero (0/1 or 0/255). Floats are refused (threshold first)."""
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H, W), not of shape {mask.shape}")
    if mask.dtype == bool:
        return mask
    if np.issubdtype(mask.dtype, np.integer):
        return mask != 0
    raise TypeError(f"a mask must be boolean or integer, not {mask.dtype}: threshold probabilities first")


def measure_mask(
    mask: np.ndarray,
    *,
    name: str,
    pixel_size: PixelSize | None = None,
    connectivity: Connectivity = 8,
) -> ImageMeasurement:
    """Label a binary mask and measure its objects.

    The mask must be at the image's own size: sizes count the image's pixels, and ``pixel_size`` is the
    size of those pixels. A mask made at a network's input size must be resized back first.

    Args:
        mask: (H, W) booleans, or integers where non-zero is foreground (a 0/255 PNG).
        name: the image's name for the CSVs.
        pixel_size: one pixel's physical size, or None to report pixels only.
        connectivity: 8 (default) joins pixels that touch by a corner, as scikit-image's ``label`` and
            ImageJ's Analyze Particles do in 2-D; 4 joins only pixels that share an edge.

    Returns:
        An :class:`ImageMeasurement`; an empty mask gives 0 objects and NaN sizes.

    Example:
        >>> m = measure_mask(np.eye(4, dtype=bool), name="diagonal")
        >>> m.count, m.objects[0].area_px
        (1, 4)
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, not {connectivity!r}")
    fg = foreground(mask)
    height, width = fg.shape
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    labels, count = ndimage.label(fg, structure=structure)
    objects: list[ObjectMeasurement] = []
    if count:
        ids = np.arange(1, count + 1)
        areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        centroids = ndimage.center_of_mass(fg, labels, ids)
        for i, (rows, cols), area, (cr, cc) in zip(
            ids, ndimage.find_objects(labels), areas, centroids, strict=True
        ):
            bbox = (int(rows.start), int(cols.start), int(rows.stop), int(cols.stop))
            border = bbox[0] == 0 or bbox[1] == 0 or bbox[2] == height or bbox[3] == width
            diameter = math.sqrt(4 * int(area) / math.pi)
            objects.append(ObjectMeasurement(int(i), int(area), diameter, float(cr), float(cc), bbox, border))
    fraction = float(fg.mean()) if fg.size else math.nan
    return ImageMeasurement(name, height, width, connectivity, fraction, tuple(objects), pixel_size)
