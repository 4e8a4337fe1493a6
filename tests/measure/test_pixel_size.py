"""--pixel-size: the forms users type are read, anything else is refused in one line."""

from __future__ import annotations

import pytest

from rudratune.errors import UserError
from rudratune.measure import PixelSize, parse_pixel_size


@pytest.mark.parametrize(
    ("text", "metres", "unit"),
    [
        ("2.5nm", 2.5e-9, "nm"),
        ("2.5 nm", 2.5e-9, "nm"),
        (" 0.1um ", 1e-7, "um"),
        ("0.1\u00b5m", 1e-7, "um"),  # micro sign
        ("0.1\u03bcm", 1e-7, "um"),  # Greek mu
        ("1e-3mm", 1e-6, "mm"),
        ("1E-3 mm", 1e-6, "mm"),
        ("500pm", 5e-10, "pm"),
        (".5cm", 5e-3, "cm"),
        ("3m", 3.0, "m"),
    ],
)
def test_pixel_sizes_users_type(text: str, metres: float, unit: str) -> None:
    size = parse_pixel_size(text)
    assert size.x == pytest.approx(metres) and size.y == size.x
    assert (size.unit, size.source) == (unit, "--pixel-size")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nm",
        "2.5",
        "12",  # a bare number has no unit: refused, not guessed
        "2.5 parsecs",
        "2.5nmm",
        "-2nm",
        "0nm",
        "0.0 um",
        "nan nm",
        "inf nm",
        "1e-400nm",
        "2.5 n m",
        "2,5nm",
        "2.5nm\nrm -rf",
        "1/2 nm",
        "2.5 inch",
        "2.5 NM",
    ],
)
def test_junk_is_refused_in_one_line_naming_the_option(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_pixel_size(text)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--pixel-size: cannot read")
    assert "2.5nm" in message and "um" in message  # the valid form


def test_the_option_name_is_the_callers() -> None:
    with pytest.raises(UserError, match=r"^predict\.pixel_size: "):
        parse_pixel_size("big", option="predict.pixel_size")


def test_pixel_size_shows_in_its_unit_and_refuses_nonsense_values() -> None:
    assert str(parse_pixel_size("2.5nm")) == "2.5 nm"
    assert str(PixelSize(2e-9, 3e-9, "nm")) == "2 x 3 nm"
    assert PixelSize(2e-9, 3e-9, "nm").pixel_area == pytest.approx(6e-18)
    with pytest.raises(ValueError):
        PixelSize(0.0, 1e-9)
    with pytest.raises(ValueError):
        PixelSize(1e-9, 1e-9, "parsec")
