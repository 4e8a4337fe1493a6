"""measure_mask on generated masks whose objects are known.

Tolerances (the worst case over 200 random sub-pixel centres and angles was measured before choosing them):
- a rasterised disk of radius r >= 2 px (pixels whose centre is within r of the disk's centre) has an
  equivalent diameter within 0.5 px of 2r (worst seen: 0.43 px at r = 2, 0.27 px at r = 4 to 8);
- a rasterised ellipse of semi-axes a, b >= 3 px within 0.5 px of 2 sqrt(ab) (worst seen: 0.35 px);
- counts, border flags, bounding boxes and the centroids of symmetric shapes are exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rudratune.measure import measure_mask, weighted_quantiles

SHAPE = (96, 128)


def disk(cy: float, cx: float, r: float, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def ellipse(cy: float, cx: float, a: float, b: float, angle: float) -> np.ndarray:
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    u = (yy - cy) * math.cos(angle) + (xx - cx) * math.sin(angle)
    v = -(yy - cy) * math.sin(angle) + (xx - cx) * math.cos(angle)
    return (u / a) ** 2 + (v / b) ** 2 <= 1


# (centre row, centre col, radius): apart from each other, with sub-pixel centres
DISKS = [(15.3, 15.7, 2.0), (16.0, 45.0, 4.0), (20.4, 85.1, 6.5), (60.0, 20.0, 9.0), (62.7, 62.2, 12.0)]


def test_disks_placed_apart_count_and_sizes_within_tolerance() -> None:
    mask = np.logical_or.reduce([disk(*d) for d in DISKS])
    m = measure_mask(mask, name="disks")
    assert m.count == len(DISKS)
    assert m.border_count == 0
    for cy, cx, r in DISKS:
        obj = min(m.objects, key=lambda o: math.hypot(o.centroid_row - cy, o.centroid_col - cx))
        assert abs(obj.equivalent_diameter_px - 2 * r) <= 0.5
        assert obj.centroid_row == pytest.approx(cy, abs=0.5)
        assert obj.centroid_col == pytest.approx(cx, abs=0.5)
    diameters = sorted(2 * r for *_, r in DISKS)
    assert m.sizes_px.median == pytest.approx(diameters[2], abs=0.5)
    assert m.sizes_px.d50 == m.sizes_px.median
    assert m.sizes_px.mean == pytest.approx(np.mean(diameters), abs=0.5)
    assert m.foreground_fraction == pytest.approx(sum(o.area_px for o in m.objects) / mask.size)


def test_ellipses_equivalent_diameter_within_tolerance() -> None:
    shapes = [(20, 25, 3, 7, 0.3), (25, 80, 5, 11, 1.2), (70, 40, 9, 4, 2.5)]
    mask = np.logical_or.reduce([ellipse(*s) for s in shapes])
    m = measure_mask(mask, name="ellipses")
    assert m.count == 3
    got = sorted(o.equivalent_diameter_px for o in m.objects)
    want = sorted(2 * math.sqrt(a * b) for _, _, a, b, _ in shapes)
    assert np.abs(np.array(got) - np.array(want)).max() <= 0.5


def test_a_centred_disk_has_its_exact_centroid_and_box() -> None:
    (obj,) = measure_mask(disk(40, 50, 5), name="one").objects
    assert (obj.centroid_row, obj.centroid_col) == (40.0, 50.0)
    assert obj.bbox == (35, 45, 46, 56)  # max exclusive
    assert obj.area_px == int(disk(40, 50, 5).sum())
    assert obj.equivalent_diameter_px == pytest.approx(math.sqrt(4 * obj.area_px / math.pi))


def test_disks_cut_by_each_border_are_flagged() -> None:
    h, w = SHAPE
    cut = [
        (0, 40, 5),
        (h - 1, 40, 5),
        (50, 0, 5),
        (50, w - 1, 5),
        (-3, -3, 6),
    ]  # last: a corner, mostly outside
    inside = [(50, 60, 6)]
    mask = np.logical_or.reduce([disk(*d) for d in cut + inside])
    m = measure_mask(mask, name="cut")
    assert m.count == 6
    assert m.border_count == 5
    (kept,) = [o for o in m.objects if not o.touches_border]
    assert abs(kept.equivalent_diameter_px - 12) <= 0.5
    half = [o for o in m.objects if o.touches_border and o.area_px > 30]
    assert len(half) == 4 and all(o.area_px < disk(50, 60, 5).sum() * 0.6 for o in half)


def test_diagonal_touch_joins_with_8_connectivity_not_with_4() -> None:
    mask = np.zeros((12, 12), dtype=bool)
    mask[2:5, 2:5] = True  # 3x3 square
    mask[5:8, 5:8] = True  # meets the first at one corner only
    mask[9:11, 1:3] = True  # apart
    eight = measure_mask(mask, name="diag")
    four = measure_mask(mask, name="diag", connectivity=4)
    assert (eight.count, four.count) == (2, 3)
    assert sorted(o.area_px for o in eight.objects) == [4, 18]
    assert sorted(o.area_px for o in four.objects) == [4, 9, 9]
    assert eight.connectivity == 8 and four.connectivity == 4


def test_empty_mask_has_no_objects_and_nan_sizes() -> None:
    m = measure_mask(np.zeros((7, 9), dtype=bool), name="empty")
    assert (m.count, m.border_count, m.foreground_fraction) == (0, 0, 0.0)
    assert all(math.isnan(v) for v in vars(m.sizes_px).values())


def test_all_foreground_mask_is_one_object_touching_the_border() -> None:
    m = measure_mask(np.full((6, 10), 255, dtype=np.uint8), name="full")
    assert (m.count, m.border_count, m.foreground_fraction) == (1, 1, 1.0)
    (obj,) = m.objects
    assert obj.area_px == 60 and obj.bbox == (0, 0, 6, 10)
    assert m.sizes_px.d10 == m.sizes_px.d90 == m.sizes_px.d50_area == pytest.approx(math.sqrt(240 / math.pi))


def test_integer_masks_count_nonzero_as_foreground_and_floats_are_refused() -> None:
    mask = disk(20, 20, 4, (40, 40))
    as_png = measure_mask((mask * 255).astype(np.uint8), name="png")
    assert as_png.objects == measure_mask(mask, name="bool").objects
    with pytest.raises(TypeError, match="threshold"):
        measure_mask(mask.astype(np.float32), name="probabilities")
    with pytest.raises(ValueError, match="2-D"):
        measure_mask(np.zeros((2, 4, 4), dtype=bool), name="stack")
    assert measure_mask(mask[..., None], name="hw1").count == 1


def test_number_and_area_weighted_percentiles_differ_as_defined() -> None:
    mask = np.zeros((40, 40), dtype=bool)
    for col in (2, 8, 14):
        mask[2:4, col : col + 2] = True  # three 2x2 squares: area 4
    mask[20:26, 20:26] = True  # one 6x6 square: area 36
    s = measure_mask(mask, name="squares").sizes_px
    small, big = 2 * 2 / math.sqrt(math.pi), 2 * 6 / math.sqrt(math.pi)
    assert s.d50 == pytest.approx(small)  # three of four objects are small
    # by area: the small ones sit at 2/48, 6/48, 10/48 of the area, the big one at 30/48
    assert s.d50_area == pytest.approx(small + (0.5 - 10 / 48) / (30 / 48 - 10 / 48) * (big - small))
    assert s.d90_area == pytest.approx(big)
    assert s.mean == pytest.approx((3 * small + big) / 4)


def test_equal_weights_give_numpys_hazen_percentiles() -> None:
    values = np.random.default_rng(3).lognormal(2, 0.5, size=37)
    got = weighted_quantiles(values, np.ones_like(values), (0.1, 0.5, 0.9))
    assert got == pytest.approx(np.percentile(values, [10, 50, 90], method="hazen"))
    assert got[1] == pytest.approx(np.median(values))
    assert all(math.isnan(v) for v in weighted_quantiles(np.array([]), np.array([]), (0.5,)))
