"""write_measurements: both CSVs read back to the measured numbers, and the histogram is a real PNG."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rudratune.measure import (
    HISTOGRAM_PNG,
    MEASUREMENTS_CSV,
    OBJECTS_CSV,
    ImageMeasurement,
    PixelSize,
    measure_mask,
    parse_pixel_size,
    write_measurements,
)


def squares() -> np.ndarray:
    mask = np.zeros((30, 40), dtype=bool)
    mask[0:4, 5:9] = True  # 16 px, on the border
    mask[10:20, 10:20] = True  # 100 px
    return mask


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csvs_hold_the_measurements_in_pixels_and_in_the_users_unit(tmp_path: Path) -> None:
    measured = [
        measure_mask(squares(), name="a.png", pixel_size=parse_pixel_size("2nm")),
        measure_mask(np.zeros((5, 5), dtype=bool), name="empty.png", pixel_size=parse_pixel_size("3nm")),
    ]
    paths = write_measurements(measured, tmp_path / "new")
    assert paths == [tmp_path / "new" / name for name in (MEASUREMENTS_CSV, OBJECTS_CSV, HISTOGRAM_PNG)]

    a, empty = read_csv(paths[0])
    assert a["image"] == "a.png" and a["pixel_size"] == "2 nm" and a["pixel_size_source"] == "--pixel-size"
    assert (int(a["object_count"]), int(a["border_object_count"])) == (2, 1)
    assert float(a["foreground_fraction"]) == pytest.approx(116 / 1200)
    big, small = math.sqrt(400 / math.pi), math.sqrt(64 / math.pi)
    assert float(a["d90_px"]) == pytest.approx(big, rel=1e-6)
    assert float(a["equivalent_diameter_median_px"]) == pytest.approx((big + small) / 2, rel=1e-6)
    assert float(a["d90_nm"]) == pytest.approx(2 * big, rel=1e-6)
    assert float(a["d50_area_nm"]) > float(a["d50_nm"])
    assert empty["object_count"] == "0" and empty["d50_px"] == "" and empty["d50_area_nm"] == ""

    objects = read_csv(paths[1])
    assert [(o["image"], o["object_id"], o["area_px"], o["touches_border"]) for o in objects] == [
        ("a.png", "1", "16", "True"),
        ("a.png", "2", "100", "False"),
    ]
    assert float(objects[1]["area_nm2"]) == pytest.approx(400.0)
    assert float(objects[1]["equivalent_diameter_nm"]) == pytest.approx(2 * big, rel=1e-6)
    assert [objects[1][k] for k in ("bbox_row_min", "bbox_col_min", "bbox_row_max", "bbox_col_max")] == [
        "10",
        "10",
        "20",
        "20",
    ]
    assert (float(objects[1]["centroid_row"]), float(objects[1]["centroid_col"])) == (14.5, 14.5)

    with Image.open(paths[2]) as png:
        assert png.format == "PNG" and png.size[0] > 100


def test_without_a_pixel_size_there_are_no_physical_columns(tmp_path: Path) -> None:
    paths = write_measurements([measure_mask(squares(), name="a")], tmp_path)
    header = paths[0].read_text().splitlines()[0].split(",")
    assert "d50_px" in header and not any(h.endswith(("_nm", "_um")) for h in header)
    assert "area_um2" not in paths[1].read_text().splitlines()[0]


def test_mixed_units_are_reported_in_micrometres_and_unknown_sizes_left_empty(tmp_path: Path) -> None:
    measured = [
        measure_mask(squares(), name="nm", pixel_size=parse_pixel_size("500nm")),
        measure_mask(squares(), name="um", pixel_size=parse_pixel_size("1um")),
        measure_mask(squares(), name="none"),
        measure_mask(squares(), name="wide", pixel_size=PixelSize(2e-6, 0.5e-6, "um")),  # 1 um^2 pixels
    ]
    rows = read_csv(write_measurements(measured, tmp_path)[0])
    d90 = [row["d90_um"] for row in rows]
    big = math.sqrt(400 / math.pi)
    assert [float(v) for v in (d90[0], d90[1], d90[3])] == pytest.approx([0.5 * big, big, big], rel=1e-6)
    assert d90[2] == ""


def test_no_images_or_no_objects_still_write_headers_and_a_histogram(tmp_path: Path) -> None:
    for images in ([], [measure_mask(np.zeros((4, 4), dtype=np.uint8), name="blank")]):
        paths = write_measurements(images, tmp_path)
        assert read_csv(paths[1]) == []
        assert len(read_csv(paths[0])) == len(images)
        assert paths[2].stat().st_size > 0


def test_measurements_are_frozen() -> None:
    m: ImageMeasurement = measure_mask(squares(), name="a")
    with pytest.raises(AttributeError):
        m.name = "b"  # type: ignore[misc]


def test_sizes_in_a_unit_scale_by_the_pixel_area() -> None:
    m = measure_mask(squares(), name="wide", pixel_size=PixelSize(4e-9, 1e-9, "nm"))
    sizes = m.sizes_in("nm")
    assert sizes is not None and sizes.d90 == pytest.approx(2 * m.sizes_px.d90)
    assert measure_mask(squares(), name="bare").sizes_in("nm") is None
