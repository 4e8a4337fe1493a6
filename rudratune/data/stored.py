"""Decoded pairs as they are kept in memory: images in their own type, masks as bits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from rudratune.data import preprocess
from rudratune.data.preprocess import Decoding


class PackedMasks(Sequence[np.ndarray]):
    """Boolean masks stored at one bit a pixel (``np.packbits``); indexing unpacks one mask."""

    def __init__(self, bits: Sequence[np.ndarray], shapes: Sequence[tuple[int, int]]) -> None:
        self.bits, self.shapes = tuple(bits), tuple(shapes)

    @classmethod
    def pack(cls, masks: Sequence[np.ndarray]) -> PackedMasks:
        return cls([np.packbits(m, axis=None) for m in masks], [m.shape for m in masks])

    def __len__(self) -> int:
        return len(self.bits)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, index: slice) -> PackedMasks: ...
    def __getitem__(self, index: int | slice) -> np.ndarray | PackedMasks:
        if isinstance(index, slice):
            return PackedMasks(self.bits[index], self.shapes[index])
        shape = self.shapes[index]
        return np.unpackbits(self.bits[index], count=shape[0] * shape[1]).view(bool).reshape(shape)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def take(self, indices: Sequence[int]) -> PackedMasks:
        return PackedMasks([self.bits[i] for i in indices], [self.shapes[i] for i in indices])

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.bits)


@dataclass(frozen=True)
class SegmentationData:
    """Decoded pairs at their native sizes, ready for any batcher.

    ``images``: (H, W, C) arrays in their own type (uint8, uint16, int16, int32, float16 or float32; see
    ``preprocess.narrow``), the same C (``channels``: 1 for grey data, 3 for colour) for every image;
    ``masks``: bool (H, W) (kept as bits by ``load_folder``). ``decoding`` is the intensity rule and
    ``affines`` each image's ``(low, scale)`` under it: ``unit(i)`` is image ``i`` as the network sees it.
    Without a decoding, images are float32 in [0, 1] already. ``root`` is the folder they came from.
    """

    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    masks: Sequence[np.ndarray]
    root: str = ""
    decoding: Decoding | None = None
    affines: tuple[tuple[float, float], ...] | None = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def channels(self) -> int:
        return int(self.images[0].shape[-1]) if self.images else 1

    @property
    def nbytes(self) -> int:
        masks = (
            self.masks.nbytes if isinstance(self.masks, PackedMasks) else sum(m.nbytes for m in self.masks)
        )
        return sum(a.nbytes for a in self.images) + masks

    def affine(self, i: int) -> tuple[float, float]:
        return self.affines[i] if self.affines is not None else (0.0, 1.0)

    def unit(self, i: int) -> np.ndarray:
        """Image ``i`` as float32 in [0, 1] (``preprocess.unit`` with its affine)."""
        low, scale = (np.float32(v) for v in self.affine(i))
        return np.asarray(preprocess.unit(self.images[i].astype(np.float32), low, scale), dtype=np.float32)

    def subset(self, indices: list[int]) -> SegmentationData:
        masks = (
            self.masks.take(indices)
            if isinstance(self.masks, PackedMasks)
            else tuple(self.masks[i] for i in indices)
        )
        return SegmentationData(
            tuple(self.names[i] for i in indices),
            tuple(self.images[i] for i in indices),
            masks,
            self.root,
            self.decoding,
            tuple(self.affine(i) for i in indices) if self.affines is not None else None,
        )

    def describe(self) -> str:
        """One line: pairs, channels, sizes, foreground, the rule and the memory the decoded set takes."""
        sides = sorted({(a.shape[1], a.shape[0]) for a in self.images})
        sizes = f"{sides[0][0]}x{sides[0][1]}" + (
            f" to {sides[-1][0]}x{sides[-1][1]}" if len(sides) > 1 else ""
        )
        fg = sum(int(m.sum()) for m in self.masks) / max(1, sum(m.size for m in self.masks))
        types = "/".join(sorted({a.dtype.name for a in self.images})) or "no"
        rule = f", intensity {_rule(self.decoding)}" if self.decoding is not None else ""
        bits = "1-bit" if isinstance(self.masks, PackedMasks) else "bool"
        return (
            f"{len(self)} pairs, {self.channels} channel{'s' if self.channels > 1 else ''}, {sizes} px, "
            f"foreground {fg:.1%}{rule}, {self.nbytes / 2**20:.1f} MiB decoded ({types} images, {bits} masks)"
        )


def _rule(d: Decoding) -> str:
    if d.rule == "dataset":
        return f"{d.mode}: {d.source_dtype} {d.low:g}..{d.high:g} -> 0..1"
    if d.rule == "image":
        return f"{d.mode}: each image's {d.percentiles[0]:g}..{d.percentiles[1]:g} percentiles -> 0..1"
    return f"{d.mode}: {d.source_dtype} type range -> 0..1"
