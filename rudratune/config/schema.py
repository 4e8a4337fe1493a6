"""Typed experiment config. Parsed once at the CLI edge; everything inward takes these objects."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_RULE = "letters, digits, '_', '.' and '-' (no '/', ':' or '..'), starting with a letter or digit"


MAX_NAME = 200
"""Characters of a name: a folder name cannot exceed 255 bytes, and a run folder adds ``-YYYYmmdd-HHMMSS-N``."""
MAX_WANDB_PROJECT = 128
"""W&B refuses longer project names."""


def check_name(value: str) -> str:
    """A name that becomes a folder or a tracker name: no path separators, no ``..``, no ``:``, not too long."""
    if not NAME_PATTERN.fullmatch(value) or ".." in value:
        raise ValueError(f"{value!r} may hold only {NAME_RULE}")
    if len(value) > MAX_NAME:  # the pattern allows ASCII only: characters are bytes
        raise ValueError(
            f"'{value[:20]}…' is {len(value)} characters long; valid: at most {MAX_NAME} (it names a folder, "
            "and a folder name cannot exceed 255 bytes)"
        )
    return value


def check_wandb_project(value: str) -> str:
    if len(value) > MAX_WANDB_PROJECT:
        raise ValueError(
            f"'{value[:20]}…' is {len(value)} characters long; valid: at most {MAX_WANDB_PROJECT} (W&B's limit)"
        )
    return value


SafeName = Annotated[str, AfterValidator(check_name)]
WandbProject = Annotated[str, AfterValidator(check_name), AfterValidator(check_wandb_project)]


def _bare(annotation: Any) -> Any:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation


def _number_kind(annotation: Any) -> str | None:
    """``whole number`` or ``number`` when a field takes numbers but not true/false, else None."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    kinds = {_bare(arg) for arg in typing.get_args(annotation)} if union else {_bare(annotation)}
    if bool in kinds:
        return None
    return "whole number" if int in kinds else "number" if float in kinds else None


class Section(BaseModel):
    """A strict config section: unknown keys refused, frozen, numbers finite and never true/false (pydantic
    would read ``true`` as 1 and ``.inf`` as a learning rate)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            kind = _number_kind(cls.model_fields[info.field_name].annotation)
            if kind is not None:
                raise ValueError(f"got {value}, a true/false; valid: a {kind}")
        return value


SEED_MAX = 2**32 - 1
"""Seeds go to numpy (non-negative) and Lightning's ``seed_everything`` (which replaces any seed above this)."""

MAX_IMAGE_SIZE = 4096
"""The largest ``data.image_size``: one 4096² float32 RGB image is 201 MB; tile larger micrographs."""


class IntensityConfig(Section):
    """How image values become [0, 1] (see ``rudratune.data.intensity``).

    ``auto``: 8-bit images by the range of their type, wider types (16-bit, signed, 32-bit, float outside
    [0, 1]) from the dataset-wide ``low``/``high`` percentiles. ``dtype``: divide by the range of the file's
    type (8-bit by 255, 16-bit by 65535; float images are kept when they lie in [0, 1]). ``percentile``: per
    image, ``low``/``high`` percentiles map to 0 and 1, clipped.
    """

    mode: Literal["auto", "dtype", "percentile"] = "auto"
    low: float = Field(1.0, ge=0, lt=100)
    high: float = Field(99.0, gt=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> IntensityConfig:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class DataConfig(Section):
    root: str | None = None
    """Folder with ``images/`` and ``masks/``; ``null`` means the embedded synthetic SEM dataset."""
    image_size: int = Field(256, gt=0, le=MAX_IMAGE_SIZE)
    intensity: IntensityConfig = IntensityConfig()
    batch_size: int = Field(8, gt=0)
    placement: Literal["auto", "device", "host"] = "auto"
    """Where batches are drawn from: ``auto`` puts the split tensors on the GPU when they take at most a
    quarter of its free memory, else keeps them in pinned host memory and copies each batch."""
    num_workers: int | None = Field(None, ge=0)
    """Deprecated and ignored (batches come from memory on the device, with no loader workers)."""
    val_fraction: float = Field(0.2, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    normalize: Literal["none", "imagenet"] = "none"


class ModelConfig(Section):
    name: str = "smp.DeepLabV3Plus"
    encoder: str | None = "resnet34"
    encoder_weights: str | None = None


class LossConfig(BaseModel):
    """``name`` plus the chosen loss's own parameters (e.g. ``gamma``), checked against the loss registry."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = "GeneralizedDiceLoss"

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class OptimizerConfig(Section):
    name: str = "Adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0)
    """Used by SGD only."""


class SchedulerConfig(Section):
    name: str = "plateau"
    factor: float = Field(0.5, gt=0, lt=1)
    patience: int = Field(5, ge=0)
    threshold: float = Field(1e-3, ge=0)
    step_size: int = Field(10, gt=0)
    gamma: float = Field(0.1, gt=0, le=1)
    eta_min: float = Field(0.0, ge=0)


class TrainerConfig(Section):
    max_epochs: int = Field(100, gt=0)
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: Literal["auto", 1] = "auto"
    """One device per run (a trial is one process); ``auto`` means 1, never every GPU of the machine."""
    precision: Literal["auto", "32-true", "32", "16-mixed", "bf16-mixed"] = "32-true"
    """``auto``: bf16-mixed on a GPU that supports it, 32-true otherwise."""
    channels_last: bool = True
    """Convolutional nets on a GPU run in channels-last memory format (ignored on a CPU)."""
    compile: bool = False
    """``torch.compile`` the network (opt-in: the first steps pay a compilation warm-up)."""
    log_every_n_steps: int = Field(2, gt=0)
    deterministic: bool = True
    early_stopping_patience: int = Field(10, ge=0)
    save_top_k: int = Field(3, ge=1)
    threads: int | None = Field(None, gt=0)
    """Torch intra-op threads; ``null`` uses every CPU this process may use (a trial: its CPUs)."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("empty; valid: an MLflow experiment name, e.g. rudratune")
    return value


class TrackingConfig(Section):
    experiment: Annotated[str, AfterValidator(_not_blank)] = "rudratune"
    mlflow: bool = True
    mlflow_uri: str | None = None
    """``null``: ``$MLFLOW_TRACKING_URI`` if set, else a sqlite store under the output root."""
    wandb: bool = True
    wandb_project: WandbProject = "rudratune"
    wandb_mode: Literal["auto", "offline", "online", "disabled"] = "auto"
    """``auto``: online when ``WANDB_API_KEY`` is set, offline otherwise."""
    log_models: bool = True
    """The trained network as an MLflow model (pt2 flavour and the served pyfunc) and a W&B artifact, as
    MLflow autolog's ``log_models`` and W&B's ``log_model``. ``false``: params, metrics and pictures only (the
    checkpoint stays in the run folder), which saves the model's two ``torch.export``s at the run's end."""


_P = Field(0.0, ge=0, le=1)
"""Probability that a training image gets the transform (0 = off)."""


class FlipAugment(Section):
    p: float = _P
    """Horizontal and vertical flips, each with probability p."""


class Rotate90Augment(Section):
    p: float = _P
    """A rotation by 90, 180 or 270 degrees."""


class AffineAugment(Section):
    p: float = _P
    degrees: float = Field(15.0, ge=0, le=180)
    """Rotation drawn from [-degrees, degrees]."""
    scale: float = Field(0.1, ge=0, lt=1)
    """Zoom factor drawn from [1 - scale, 1 + scale]."""


class IntensityAugment(Section):
    p: float = _P
    strength: float = Field(0.1, ge=0, lt=1)
    """brightness: shift in [-s, s]; contrast and gamma: factor in [1 - s, 1 + s] (images in [0, 1])."""


class NoiseAugment(Section):
    p: float = _P
    std: float = Field(0.03, ge=0, le=1)
    """Standard deviation of additive Gaussian noise (images in [0, 1])."""


class BlurAugment(Section):
    p: float = _P
    sigma: float = Field(1.0, gt=0.1, le=10)
    """Gaussian blur with sigma drawn from [0.1, sigma] pixels."""


class ElasticAugment(Section):
    p: float = _P
    alpha: float = Field(1.0, ge=0, le=10)
    """Displacement scale (kornia's alpha: the smoothed noise field times alpha, in half-image units)."""
    sigma: float = Field(8.0, gt=0, le=64)
    """Smoothness of the displacement field in pixels (larger = smoother, smaller displacements)."""


class AugmentConfig(Section):
    """Batched augmentation of training batches on the trial's device; every p is 0 (off) by default.

    Geometric transforms (flip, rotate90, affine, elastic) move image and mask together; intensity
    transforms (brightness, contrast, gamma, noise, blur) change the image only.
    """

    flip: FlipAugment = FlipAugment()
    rotate90: Rotate90Augment = Rotate90Augment()
    affine: AffineAugment = AffineAugment()
    elastic: ElasticAugment = ElasticAugment()
    brightness: IntensityAugment = IntensityAugment()
    contrast: IntensityAugment = IntensityAugment(strength=0.2)
    gamma: IntensityAugment = IntensityAugment(strength=0.2)
    noise: NoiseAugment = NoiseAugment()
    blur: BlurAugment = BlurAugment()

    @property
    def enabled(self) -> bool:
        return any(getattr(self, name).p > 0 for name in type(self).model_fields)


class ExperimentConfig(Section):
    name: SafeName = "experiment"
    seed: int = Field(42, ge=0, le=SEED_MAX)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    trainer: TrainerConfig = TrainerConfig()
    augment: AugmentConfig = AugmentConfig()
    tracking: TrackingConfig = TrackingConfig()
    provenance: dict[str, Any] | None = None
    """Written by ``rudratune export``: the sweep, trial, best epoch and metrics a config came from."""

    @model_validator(mode="after")
    def _fractions(self) -> ExperimentConfig:
        if self.data.val_fraction + self.data.test_fraction >= 1:
            raise ValueError("data.val_fraction + data.test_fraction must be below 1")
        return self

    def to_dict(self, *, provenance: bool = True) -> dict[str, Any]:
        """Plain nested dict, loss parameters flattened into ``loss``; round-trips through YAML.
        ``provenance=False`` leaves out where an exported config came from (a sweep's base has none)."""
        return self.model_dump(
            mode="json", exclude_none=False, exclude=None if provenance else {"provenance"}
        )


def known_keys(config: ExperimentConfig) -> set[str]:
    """Dotted keys a search space or override may set (loss parameters are added by the loss registry)."""
    keys: set[str] = set()

    def walk(model: BaseModel, prefix: str) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
            elif name != "provenance":
                keys.add(f"{prefix}{name}")

    walk(config, "")
    return keys
