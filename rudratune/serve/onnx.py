"""ONNX with dynamic batch, height and width, the decoding written down beside it, checked against torch.

``rudratune export RUN_DIR --onnx PATH`` writes ``PATH`` (the network: ``image`` float32 (N, C, H, W) in,
``logits`` (N, 1, H, W) out), ``PATH.json`` (the decoding and the training size: what a caller must do
first) and ``PATH.txt`` (the same steps in words). ``onnx`` and ``onnxruntime`` come with the ``onnx`` extra.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rudratune.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from rudratune.serve.pyfunc import Serving

TOLERANCE = 1e-4
"""The largest |probability difference| between ONNX Runtime and torch that the check accepts."""
EXTRA = "pip install 'rudratune[onnx]'"


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    exporter: str
    max_diff: float
    sizes: tuple[tuple[int, int], ...]


def require() -> None:
    """A one-line UserError where the onnx extra is not installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise UserError(
            f"--onnx needs the packages onnx and onnxruntime ({err.name} is missing): {EXTRA}"
        ) from None


def _export(net: nn.Module, example: torch.Tensor, path: Path) -> str:
    """torch.export-based (dynamo) exporter first; the TorchScript-based one where it fails."""
    import torch

    names = {"input_names": ["image"], "output_names": ["logits"]}
    auto = torch.export.Dim.AUTO
    try:
        torch.onnx.export(
            net,
            (example,),
            str(path),
            dynamo=True,
            dynamic_shapes=({0: auto, 2: auto, 3: auto},),
            external_data=False,  # one file: the weights inside, not in PATH.data
            **names,
        )
        return "dynamo"
    except Exception:
        axes = {0: "batch", 2: "height", 3: "width"}
        torch.onnx.export(
            net, (example,), str(path), dynamo=False, dynamic_axes={"image": axes, "logits": axes}, **names
        )
        return "torchscript"


def check(net: nn.Module, path: Path, sizes: tuple[tuple[int, int], ...], channels: int) -> float:
    """The largest |sigmoid difference| between ONNX Runtime and torch over random images of ``sizes``."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    for batch, (height, width) in enumerate(sizes, start=2):  # a torch.export program takes batches of 2+
        x = torch.rand(batch, channels, height, width, generator=generator)
        with torch.no_grad():
            expected = torch.sigmoid(net(x)).numpy()
        (logits,) = session.run(["logits"], {"image": x.numpy()})
        worst = max(worst, float(np.abs(1 / (1 + np.exp(-logits)) - expected).max()))
    return worst


def export_onnx(net: nn.Module, serving: Serving, path: Path) -> OnnxExport:
    """Write the network, its decoding and its steps; refuse (UserError) an export ORT disagrees with."""
    require()
    from rudratune.serve.network import examples

    net = net.cpu()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # an exported program: inference already
        net.train(False)
    channels, size, multiple = serving.decoding.channels, serving.image_size, serving.size_multiple
    written = (path, path.with_name(path.name + ".json"), path.with_name(path.name + ".txt"))
    try:
        exporter = _export(net, examples(channels, size, multiple)[0], path)
        sizes = ((size, size), (size + multiple, size + 2 * multiple))  # the training size and another
        worst = check(net, path, sizes, channels)
        if not worst <= TOLERANCE:
            raise UserError(
                f"--onnx: ONNX Runtime differs from torch by {worst:.2g} (> {TOLERANCE:g}); not written"
            )
        _write_decoding(serving, path, exporter)
    except BaseException:  # refused, a full disk, a SIGTERM: no half-written model beside its decoding
        for file in written:
            file.unlink(missing_ok=True)
        raise
    return OnnxExport(path, exporter, worst, sizes)


def _write_decoding(serving: Serving, path: Path, exporter: str) -> None:
    d = serving.decoding
    doc = {
        "network": path.name,
        "input": {"name": "image", "shape": ["N", d.channels, "H", "W"], "dtype": "float32"},
        "output": {"name": "logits", "shape": ["N", 1, "H", "W"], "foreground": "sigmoid(logits) > 0.5"},
        "image_size": serving.image_size,
        "size_multiple": serving.size_multiple,
        "normalize": serving.normalize,
        "decoding": json.loads(d.to_json()),
        "exporter": exporter,
        "params": serving.params,
    }
    path.with_name(path.name + ".json").write_text(json.dumps(doc, indent=2) + "\n")
    norm = (
        "subtract ImageNet's mean (0.485, 0.456, 0.406) and divide by its std (0.229, 0.224, 0.225) per channel "
        "(one channel: their means, 0.449 and 0.226)"
        if serving.normalize == "imagenet"
        else "no normalisation"
    )
    steps = f"""How {path.name} expects its input (what rudratune's training did; {path.name}.json holds the values)

1. Channels: (H, W) or (H, W, C); alpha dropped; {d.channels} channel(s) ({"grey repeated" if d.channels == 3 else "grey"}).
   Float images: NaN and -inf become the image's finite minimum, +inf its maximum.
2. Intensity: rule '{d.rule}' (mode '{d.mode}'); x' = clip((x - low) * scale, 0, 1) with
   {_affine_words(d.rule, d.low, d.high, d.percentiles)}.
   Compute low/scale on the image at its own size (before resizing).
3. Resize to {serving.image_size} x {serving.image_size}: bilinear with antialias (torch.nn.functional.interpolate,
   align_corners=False) in the image's own type (integers rounded back), then step 2's formula, in float32.
   The network takes any height and width (multiples of {serving.size_multiple}); it was trained at {serving.image_size}.
4. Normalisation: {norm}.
5. Input 'image' float32 (N, {d.channels}, H, W); output 'logits' (N, 1, H, W): foreground = sigmoid(logits) > 0.5.
   Resize the probabilities back to the image's size (bilinear) before thresholding.
"""
    path.with_name(path.name + ".txt").write_text(steps)


def _affine_words(rule: str, low: float | None, high: float | None, percentiles: tuple[float, float]) -> str:
    if rule == "dataset":
        return f"low = {low}, scale = 1 / ({high} - {low}) (the training set's percentiles {percentiles})"
    if rule == "image":
        return f"low, high = the image's own percentiles {percentiles}, scale = 1 / (high - low)"
    return "low, high = the range of the file's type (8-bit: 0..255, 16-bit: 0..65535, float: 0..1)"
