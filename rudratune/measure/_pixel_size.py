"""The physical size of one pixel: what ``--pixel-size`` reads, and what a trusted TIFF tag gives."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rudratune.errors import UserError

UNITS: dict[str, float] = {"pm": 1e-12, "nm": 1e-9, "um": 1e-6, "mm": 1e-3, "cm": 1e-2, "m": 1.0}
"""Length units in metres, by the ASCII name used in CSV column names (``um`` for micrometres)."""

ALIASES = {"\u00b5m": "um", "\u03bcm": "um", "micron": "um", "microns": "um"}  # micro sign, Greek mu
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_PIXEL_SIZE = re.compile(rf"\s*({_NUMBER})\s*(pm|nm|um|\u00b5m|\u03bcm|mm|cm|m)\s*")
VALID_FORM = "a positive number and a length unit, e.g. 2.5nm, 2.5 nm, 0.1um, 0.1µm or 1e-3mm (units: pm, nm, um/µm, mm, cm, m)"


@dataclass(frozen=True)
class PixelSize:
    """One pixel's width (``x``, along columns) and height (``y``, along rows) in metres.

    Attributes:
        x: pixel width in metres.
        y: pixel height in metres (equal to ``x`` unless the source says otherwise).
        unit: the unit sizes are reported in (a key of ``UNITS``): the user's own, or one chosen for a
            file's value (:func:`display_unit`).
        source: where the value came from, e.g. ``--pixel-size`` or ``FEI [Scan] PixelWidth``.
    """

    x: float
    y: float
    unit: str = "um"
    source: str = ""

    def __post_init__(self) -> None:
        for value in (self.x, self.y):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"a pixel size must be a positive finite length in metres, not {value!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {self.unit!r}")

    @property
    def pixel_area(self) -> float:
        """One pixel's area in square metres."""
        return self.x * self.y

    def __str__(self) -> str:
        scale = UNITS[self.unit]
        if self.x == self.y:
            return f"{self.x / scale:.6g} {self.unit}"
        return f"{self.x / scale:.6g} x {self.y / scale:.6g} {self.unit}"


def display_unit(metres: float) -> str:
    """The largest unit in which ``metres`` is at least 1 (``pm`` below a nanometre): 2.5e-9 m -> nm."""
    for name in ("m", "mm", "um", "nm"):
        if metres >= UNITS[name]:
            return name
    return "pm"


def unit_metres(unit: str) -> float | None:
    """Metres per ``unit`` for a unit a file writes (``nm``, ``µm``, ``micron``, ``Å``, ...), or None."""
    unit = unit.strip()
    if unit in ("\u00c5", "\u212b", "angstrom"):  # Latin capital A with ring, the angstrom sign
        return 1e-10
    unit = ALIASES.get(unit, unit)
    return UNITS.get(unit)


def parse_pixel_size(text: str, *, option: str = "--pixel-size") -> PixelSize:
    """Read a user's pixel size such as ``2.5nm``, ``2.5 nm``, ``0.1um``, ``0.1µm`` or ``1e-3mm``.

    Args:
        text: the value as typed.
        option: the option's name, for the error message.

    Returns:
        A square :class:`PixelSize` reported in the unit the user typed (``µm`` becomes ``um``).

    Raises:
        UserError: one line naming ``option`` and the valid form, for anything else (no unit, an unknown
            unit, zero, a negative or non-finite number).

    Example:
        >>> parse_pixel_size("2.5 nm")
        PixelSize(x=2.5e-09, y=2.5e-09, unit='nm', source='--pixel-size')
    """
    match = _PIXEL_SIZE.fullmatch(text)
    value = float(match.group(1)) if match else math.nan
    if not match or not math.isfinite(value) or value <= 0:
        raise UserError(f"{option}: cannot read {text!r}; give {VALID_FORM}")
    unit = ALIASES.get(match.group(2), match.group(2))
    metres = value * UNITS[unit]
    if not (math.isfinite(metres) and metres > 0):  # 1e-400nm underflows to zero
        raise UserError(f"{option}: cannot read {text!r}; give {VALID_FORM}")
    return PixelSize(metres, metres, unit, option)
