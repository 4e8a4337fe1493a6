"""The MLflow pyfunc model that serves a trained network on raw images: numpy, torch and mlflow only.

This file ships inside the logged model (``code_paths``) beside ``preprocess.py`` (training's own decoding),
so ``mlflow.pyfunc.load_model(uri).predict(images)`` and ``mlflow models serve`` work without rudratune.
It must import nothing from rudratune but ``preprocess``.

Per image, exactly as training: ``preprocess.store`` → ``preprocess.affine`` (at the image's own size) →
resize to the training size in the stored type (bilinear, antialias, rounded back) → ``preprocess.unit`` →
ImageNet normalisation if training used it → the network → sigmoid → resized back to the image's own size
(bilinear) → threshold.

Input (``model_input``): one image (H, W) / (H, W, C), a batch (N, H, W, C) or (N, H, W) with W > 4, a list
of images of any sizes, or a dict of named images (what ``mlflow models serve`` passes for
``{"inputs": {"a": [...], "b": [...]}}``). Output: masks in the same shape of container.

Params: ``probabilities`` (bool, default False: 0/1 uint8 masks; True: float32 probabilities),
``threshold`` (float, default 0.5), ``dtype`` (the images' file type, e.g. ``uint8``; default: the training
files' type for integer arrays that JSON widened to int64), ``resize`` (bool, default True; False runs the
network at the image's own size, padded to the architecture's size multiple).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import torch
import torch.nn.functional as F

try:  # the copy shipped with the model (code_paths puts it on sys.path) ...
    import preprocess
except ImportError:  # ... or training's, where rudratune is installed
    from rudratune.data import preprocess

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SETTINGS_FILE = "serving.json"
NETWORK_FILE = "network.pt2"
DECODING_FILE = "decoding.json"
BATCH = 16
PARAMS: dict[str, Any] = {"probabilities": False, "threshold": 0.5, "dtype": "", "resize": True}


def resized(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """(1, C, H, W) in the image's own type, as training resizes (``rudratune.data.datamodule._resized``):
    bilinear with antialias in float32, rounded and clipped back for integers, cast back for floats."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    if tuple(x.shape[-2:]) == size:
        return x
    out = F.interpolate(x.float(), size=size, mode="bilinear", antialias=True, align_corners=False)
    if x.dtype.is_floating_point:
        return out.to(x.dtype)
    info = torch.iinfo(x.dtype)
    return out.round_().clamp_(info.min, info.max).to(x.dtype)


def normalized(x: torch.Tensor, normalize: str) -> torch.Tensor:
    """ImageNet's normalisation (one channel: the mean of its three statistics), as training batches."""
    if normalize != "imagenet":
        return x
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    if x.shape[1] == 1:
        mean, std = mean.mean(0, keepdim=True), std.mean(0, keepdim=True)
    return (x - mean[:, None, None]) / std[:, None, None]


def as_source_type(raw: np.ndarray, dtype: str, source_dtype: str) -> np.ndarray:
    """The array in its file's type: ``dtype`` if given; else int64 (what JSON makes of any integer image)
    becomes the training files' integer type when its values fit that type."""
    if dtype:
        return raw.astype(dtype)
    if raw.dtype == np.int64 and np.dtype(source_dtype).kind in "iu" and raw.size:
        info = np.iinfo(source_dtype)
        if info.min <= raw.min() and raw.max() <= info.max:
            return raw.astype(source_dtype)
    return raw


def images_of(model_input: Any) -> tuple[str, list[np.ndarray], list[str]]:
    """The images of ``model_input`` and how to give the results back (``one``, ``batch``, ``list``, ``dict``)."""
    if isinstance(model_input, dict):
        names = list(model_input)
        return "dict", [np.asarray(model_input[k]) for k in names], names
    if isinstance(model_input, (list, tuple)):
        return "list", [np.asarray(v) for v in model_input], []
    if type(model_input).__name__ == "DataFrame":
        raise TypeError("images as a DataFrame are not supported; send {'inputs': image} or a dict of images")
    array = np.asarray(model_input)
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] <= 4):
        return "one", [array], []
    if array.ndim in (3, 4):
        return "batch", list(array), []
    raise ValueError(f"an image must be (H, W) or (H, W, C), a batch (N, H, W[, C]); got shape {array.shape}")


class Segmenter(mlflow.pyfunc.PythonModel):
    """Raw images in, masks at each image's own size out (see the module docstring)."""

    _skip_type_hint_validation = True
    """predict's model_input has no type hint on purpose (images fit no schema). MLflow's switch for classes
    its type-hint validation does not fit: without it every import printed MLflow's advice to add one (a
    warnings filter does not catch it: MLflow colours the message)."""

    def load_context(self, context: Any) -> None:
        self.settings: dict[str, Any] = json.loads(Path(context.artifacts["settings"]).read_text())
        self.decoding = preprocess.Decoding.from_json(Path(context.artifacts["decoding"]).read_text())
        self.net = load_network(context.artifacts["network"], self.settings.get("format", "pt2"))

    def predict(self, context: Any, model_input, params: dict[str, Any] | None = None) -> Any:
        # model_input has no type hint: MLflow reads one as an input schema, and images fit none
        options = {**PARAMS, **(params or {})}
        kind, images, names = images_of(model_input)
        probabilities = self.probabilities(images, str(options["dtype"] or ""), bool(options["resize"]))
        if bool(options["probabilities"]):
            outputs = probabilities
        else:
            outputs = [(p > float(options["threshold"])).astype(np.uint8) for p in probabilities]
        if kind == "one":
            return outputs[0]
        if kind == "batch":
            return np.stack(outputs)
        if kind == "dict":
            return dict(zip(names, outputs, strict=True))
        return outputs

    def decoded(self, raw: np.ndarray, dtype: str, target: tuple[int, int] | None) -> torch.Tensor:
        """(1, C, h, w) float32 as the network takes it: at ``target`` size, or at the image's own size."""
        raw = as_source_type(np.asarray(raw), dtype, self.decoding.source_dtype)
        if raw.ndim not in (2, 3) or min(raw.shape[:2]) < 1:
            raise ValueError(f"an image must be (H, W) or (H, W, C) with H, W >= 1; got shape {raw.shape}")
        image, _ = preprocess.store(raw, self.decoding.channels)
        low, scale = preprocess.affine(self.decoding, image, raw.dtype)
        x = resized(image, target or image.shape[:2]).float()
        return normalized(preprocess.unit(x, float(low), float(scale)), str(self.settings["normalize"]))

    def probabilities(self, images: list[np.ndarray], dtype: str, resize: bool) -> list[np.ndarray]:
        """Each image's foreground probability, float32 (H, W) at its own size."""
        shapes = [np.shape(image)[:2] for image in images]
        if not resize:  # each at its own size, edge-padded to the architecture's multiple, cropped after
            out = []
            for image, (height, width) in zip(images, shapes, strict=True):
                x = self.decoded(image, dtype, None)
                h, w = padded_size(height, width, int(self.settings["size_multiple"]))
                out.append(self.forward(F.pad(x, (0, w - width, 0, h - height), mode="replicate"))[0, 0])
            return [p[:height, :width].numpy() for p, (height, width) in zip(out, shapes, strict=True)]
        size = int(self.settings["image_size"])
        batch = [self.decoded(image, dtype, (size, size)) for image in images]
        probs = torch.cat(
            [self.forward(torch.cat(batch[i : i + BATCH])) for i in range(0, len(batch), BATCH)]
        )
        return [
            F.interpolate(p[None], size=tuple(shape), mode="bilinear", align_corners=False)[0, 0].numpy()
            for p, shape in zip(probs, shapes, strict=True)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """sigmoid(network(x)); a batch of one runs as two (an exported batch dimension starts at 2)."""
        single = x.shape[0] == 1
        with torch.no_grad():
            logits = self.net(torch.cat([x, x]) if single else x).float()
        return torch.sigmoid(logits[:1] if single else logits)


def padded_size(height: int, width: int, multiple: int) -> tuple[int, int]:
    return (-(-height // multiple) * multiple, -(-width // multiple) * multiple)


def load_network(path: str, fmt: str) -> Any:
    """The network saved by ``rudratune.serve.network.save``: a torch.export program or TorchScript."""
    if fmt == "torchscript":
        return torch.jit.load(path, map_location="cpu")
    return torch.export.load(path).module()
