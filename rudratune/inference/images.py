"""IMAGES on the command line to a list of files, and one file to its raw pixels (``rudratune.data.decode``:
every format training reads)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rudratune.data import decode
from rudratune.data.folder import EXTENSIONS
from rudratune.errors import UserError


def image_files(items: Sequence[str | Path]) -> list[Path]:
    """Files as given and the images directly inside folders (sorted), each stem once (a stem names its
    outputs)."""
    if not items:
        raise UserError("IMAGES: none given; valid: image files or folders of them")
    found: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)
            if not inside:
                raise UserError(f"IMAGES: {path} holds no images ({', '.join(EXTENSIONS)})")
            found += inside
        elif path.is_file():
            if path.suffix.lower() not in EXTENSIONS:
                raise UserError(f"IMAGES: {path}: not an image file; valid: {', '.join(EXTENSIONS)}")
            found.append(path)
        else:
            raise UserError(f"IMAGES: {path} does not exist")
    seen: dict[str, Path] = {}
    for path in found:
        if path.stem in seen:
            raise UserError(
                f"IMAGES: two images named '{path.stem}' ({seen[path.stem]}, {path}); their masks would "
                "overwrite each other"
            )
        seen[path.stem] = path
    return found


def read_image(path: Path) -> np.ndarray:
    """The file's pixels in their own type; an unreadable file is a one-line ``UserError`` naming it."""
    try:
        return decode.read(path)
    except UserError as err:  # decode names the training option; here the file came from IMAGES
        raise UserError(str(err).replace("data.root: ", "IMAGES: ", 1)) from None
