"""A pixel size read from a TIFF, only from tags that a microscope or a calibrating program wrote.

Trusted, first found wins:

1. FEI / Thermo Fisher SEM and FIB (tags 34680 FEI_SFEG, 34682 FEI_HELIOS, tifffile's ``fei_metadata``):
   ``[Scan] PixelWidth`` and ``PixelHeight``, in metres, written by the instrument from its calibration.
2. Zeiss SEM (tag 34118 CZ_SEM, tifffile's ``sem_metadata``): ``ap_image_pixel_size`` (else
   ``ap_pixel_size``), a value with its unit, e.g. ``Image Pixel Size = 2.481 nm``.
3. OME-TIFF (``ome_metadata``): ``Pixels`` ``PhysicalSizeX`` / ``PhysicalSizeY`` with their
   ``PhysicalSizeXUnit`` / ``PhysicalSizeYUnit`` (µm when unset, as the OME schema says).
4. ImageJ / Fiji hyperstacks (``imagej_metadata``): ``XResolution`` / ``YResolution`` in pixels per ``unit``,
   only when the ImageJ description names a length unit (``nm``, ``micron``, ``µm``, ``mm``, ...). ImageJ
   writes that unit only for a calibrated image (Analyze > Set Scale, or the reader's calibration).

Not trusted: the baseline ``XResolution`` / ``YResolution`` with ``ResolutionUnit`` alone. Most programs
write a print density there (72, 96 or 300 dpi by default) whatever the image shows, and nothing in the file
tells that apart from a calibration. A zero, negative or non-finite value in a trusted tag (an uncalibrated
instrument writes 0) counts as absent.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rudratune.measure._pixel_size import PixelSize, display_unit, unit_metres

TIFF_SUFFIXES = (".tif", ".tiff")


def pixel_size_from_tiff(path: Path | str) -> PixelSize | None:
    """The pixel size a TIFF's trusted tags give (see the module docstring), or None.

    None as well for a file that is not a TIFF (by its suffix) or that tifffile cannot open: the image
    reader reports unreadable files; this only says what the file can be trusted to tell.

    Example:
        >>> size = pixel_size_from_tiff("sample.tif")  # an FEI image with PixelWidth=2.5e-09
        >>> size.x, size.source
        (2.5e-09, 'FEI [Scan] PixelWidth')
    """
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            for reader in READERS:
                found = reader(tif)
                if found is not None:
                    return found
    except Exception:  # a file tifffile cannot parse has no size to trust; the image reader reports it
        return None
    return None


def resolve_pixel_size(given: PixelSize | None, image: Path | str) -> PixelSize | None:
    """The pixel size to use for ``image``: the user's (``--pixel-size``) wins, else the file's trusted tags."""
    return given if given is not None else pixel_size_from_tiff(image)


def _size(x_m: Any, y_m: Any, source: str) -> PixelSize | None:
    """A PixelSize from two lengths in metres, or None when either is not a positive finite number."""
    try:
        x, y = float(x_m), float(y_m)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
        return None
    return PixelSize(x, y, display_unit(min(x, y)), source)


def _fei(tif: Any) -> PixelSize | None:
    scan = (tif.fei_metadata or {}).get("Scan") or {}
    if "PixelWidth" not in scan:
        return None
    return _size(scan["PixelWidth"], scan.get("PixelHeight", scan["PixelWidth"]), "FEI [Scan] PixelWidth")


def _zeiss(tif: Any) -> PixelSize | None:
    sem = tif.sem_metadata or {}
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        entry = sem.get(key)
        # tifffile parses "Image Pixel Size = 2.481 nm" into ('Image Pixel Size', 2.481, 'nm')
        if isinstance(entry, tuple) and len(entry) == 3 and (scale := unit_metres(str(entry[2]))):
            try:
                metres = float(entry[1]) * scale
            except (TypeError, ValueError):
                continue
            return _size(metres, metres, f"Zeiss {key}")
    return None


def _ome(tif: Any) -> PixelSize | None:
    text = tif.ome_metadata
    if not text:
        return None
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None or "PhysicalSizeX" not in pixels.attrib:
        return None
    lengths = []
    for axis in "XY":
        value = pixels.get(f"PhysicalSize{axis}", pixels.get("PhysicalSizeX"))
        scale = unit_metres(pixels.get(f"PhysicalSize{axis}Unit", "µm"))
        if scale is None:
            return None
        try:
            lengths.append(float(value or "nan") * scale)
        except ValueError:
            return None
    return _size(lengths[0], lengths[1], "OME PhysicalSizeX")


def _imagej(tif: Any) -> PixelSize | None:
    meta = tif.imagej_metadata or {}
    scale = unit_metres(str(meta.get("unit", "")).replace("\\u00B5", "µ"))
    if scale is None:
        return None
    tags = tif.pages.first.tags
    lengths = []
    for name in ("XResolution", "YResolution"):
        tag = tags.get(name)
        if tag is None:
            return None
        numerator, denominator = tag.value  # pixels per unit, as a rational
        if not numerator or not denominator:
            return None
        lengths.append(denominator / numerator * scale)
    return _size(lengths[0], lengths[1], "ImageJ XResolution and unit")


READERS: tuple[Callable[[Any], PixelSize | None], ...] = (_fei, _zeiss, _ome, _imagej)
"""The trusted sources, in the order they are tried."""
