"""pixel_size_from_tiff: each trusted tag, written as its program writes it, gives its pixel size; the plain
resolution tags (a dpi) give none; the user's --pixel-size wins over the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from rudratune.measure import parse_pixel_size, pixel_size_from_tiff, resolve_pixel_size

PIXELS = np.zeros((8, 8), dtype=np.uint8)
FEI = "[User]\r\nDate=12/06/2026\r\n[Beam]\r\nHV=5000\r\n[Scan]\r\nPixelWidth=2.5e-009\r\nPixelHeight=3e-009\r\n"


def write(path: Path, **kwargs: Any) -> Path:
    tifffile.imwrite(path, PIXELS, **kwargs)
    return path


def zeiss(value: str) -> list[tuple[int, str, int, bytes, bool]]:
    text = f"0\r\nDP_DETECTOR_TYPE\r\nDetector = SE2\r\nAP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = {value}\r\n"
    return [(34118, "s", 0, text.encode("cp1252"), True)]  # Zeiss writes the micro sign in cp1252


@pytest.mark.parametrize(
    ("kwargs", "x", "y", "unit", "source"),
    [
        ({"extratags": [(34680, "s", 0, FEI, True)]}, 2.5e-9, 3e-9, "nm", "FEI [Scan] PixelWidth"),
        ({"extratags": [(34682, "s", 0, FEI, True)]}, 2.5e-9, 3e-9, "nm", "FEI [Scan] PixelWidth"),  # Helios
        ({"extratags": zeiss("2.481 nm")}, 2.481e-9, 2.481e-9, "nm", "Zeiss ap_image_pixel_size"),
        ({"extratags": zeiss("1.2 \u00b5m")}, 1.2e-6, 1.2e-6, "um", "Zeiss ap_image_pixel_size"),
        (
            {
                "ome": True,
                "metadata": {"PhysicalSizeX": 0.1, "PhysicalSizeY": 120, "PhysicalSizeYUnit": "nm"},
            },
            1e-7,  # OME's default unit is µm
            1.2e-7,
            "nm",
            "OME PhysicalSizeX",
        ),
        (
            {"imagej": True, "resolution": (20, 20), "metadata": {"unit": "micron"}},
            0.05e-6,
            0.05e-6,
            "nm",
            "ImageJ XResolution and unit",
        ),
        (
            {"imagej": True, "resolution": (4, 2), "metadata": {"unit": "\\u00B5m"}},  # as ImageJ escapes µ
            0.25e-6,
            0.5e-6,
            "nm",
            "ImageJ XResolution and unit",
        ),
    ],
)
def test_each_trusted_tag_gives_its_pixel_size(
    tmp_path: Path, kwargs: dict[str, Any], x: float, y: float, unit: str, source: str
) -> None:
    size = pixel_size_from_tiff(write(tmp_path / "image.tif", **kwargs))
    assert size is not None
    assert (size.x, size.y) == (pytest.approx(x), pytest.approx(y))
    assert (size.unit, size.source) == (unit, source)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"resolution": (300, 300), "resolutionunit": "INCH"},  # a print density, not a calibration
        {"resolution": (72, 72)},
        {"resolution": (40000, 40000), "resolutionunit": "CENTIMETER"},
        {"imagej": True, "resolution": (20, 20)},  # ImageJ, uncalibrated: no unit
        {"imagej": True, "resolution": (20, 20), "metadata": {"unit": "pixel"}},
        {"imagej": True, "resolution": (20, 20), "metadata": {"unit": "inch"}},
        {"extratags": [(34680, "s", 0, "[Scan]\r\nPixelWidth=0\r\nPixelHeight=0\r\n", True)]},  # uncalibrated
        {"extratags": zeiss("2.5 parsec")},
        {"ome": True, "metadata": {"PhysicalSizeX": 0.1, "PhysicalSizeXUnit": "furlong"}},
    ],
)
def test_untrusted_or_absent_calibration_gives_none(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    assert pixel_size_from_tiff(write(tmp_path / "image.tif", **kwargs)) is None


def test_files_that_are_not_tiffs_give_none(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "broken.tif").write_bytes(b"not a tiff at all")
    assert pixel_size_from_tiff(tmp_path / "image.png") is None
    assert pixel_size_from_tiff(tmp_path / "broken.tif") is None


def test_the_users_pixel_size_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "fei.tiff", extratags=[(34680, "s", 0, FEI, True)])
    given = parse_pixel_size("7nm")
    assert resolve_pixel_size(given, path) is given
    from_file = resolve_pixel_size(None, path)
    assert from_file is not None and from_file.x == pytest.approx(2.5e-9)
