"""Model registry: ``<source>.<Name>`` → a frozen ``ModelInfo``; smp and MONAI delegate to their own factories."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from rudratune.errors import UserError, unknown_name
from rudratune.nets import scratch
from rudratune.nets.scratch import MIN_SIZE, SIZE_MULTIPLE

IN_CHANNELS = 3
"""The default; a run builds its network for its data's channels (1 for grey data, 3 for colour)."""
CLASSES = 1


@dataclass(frozen=True)
class ModelSpec:
    """What a builder needs: the encoder (smp only), the input size (UNETR, DPT) and the input channels."""

    encoder: str | None
    encoder_weights: str | None
    image_size: int
    in_channels: int = IN_CHANNELS


@dataclass(frozen=True)
class ModelInfo:
    name: str
    build: Callable[[ModelSpec], nn.Module]
    size_multiple: int = 32
    min_size: int = 32
    uses_encoder: bool = False
    encoder_prefix: str = ""
    """DPT takes only timm encoders, spelled ``tu-<name>``."""
    default_encoder: str | None = None

    @property
    def source(self) -> str:
        return self.name.split(".", 1)[0]

    def size_error(self, size: int) -> str | None:
        if size < self.min_size:
            return f"{self.name} needs data.image_size >= {self.min_size}, got {size}"
        if size % self.size_multiple:
            return f"{self.name} needs data.image_size divisible by {self.size_multiple}, got {size}"
        return None


def _smp(arch: str, spec: ModelSpec, **kwargs: Any) -> nn.Module:
    # local: smp, MONAI and timm are imported only for the family a config names
    import segmentation_models_pytorch as smp

    return smp.create_model(
        arch,
        encoder_name=spec.encoder,
        encoder_weights=spec.encoder_weights,
        in_channels=spec.in_channels,
        classes=CLASSES,
        **kwargs,
    )


def _monai(cls_name: str, **kwargs: Any) -> Callable[[ModelSpec], nn.Module]:
    def build(spec: ModelSpec) -> nn.Module:
        # local: smp, MONAI and timm are imported only for the family a config names
        from monai.networks import nets

        extra = {"img_size": spec.image_size} if cls_name == "UNETR" else {}
        return getattr(nets, cls_name)(
            spatial_dims=2, in_channels=spec.in_channels, out_channels=CLASSES, **kwargs, **extra
        )

    return build


def _scratch(cls_name: str) -> Callable[[ModelSpec], nn.Module]:
    def build(spec: ModelSpec) -> nn.Module:
        return getattr(scratch, cls_name)(spec.in_channels, CLASSES)

    return build


_SMP_SIZES = {"PAN": (32, 128), "DPT": (16, 32)}
_SMP_ARCHS = (
    "Unet",
    "UnetPlusPlus",
    "MAnet",
    "Linknet",
    "FPN",
    "PSPNet",
    "DeepLabV3",
    "DeepLabV3Plus",
    "PAN",
    "UPerNet",
    "Segformer",
    "DPT",
)
_MONAI: dict[str, tuple[dict[str, Any], int, int]] = {
    # name: (constructor kwargs, size multiple, min size: instance norm needs > 1 pixel at the bottom)
    "UNet": (dict(channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2), 16, 32),
    "AttentionUnet": (dict(channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2)), 16, 16),
    "BasicUNet": (dict(features=(32, 32, 64, 128, 256, 32)), 16, 32),
    "SegResNet": (dict(init_filters=16), 8, 8),
    "UNETR": (dict(feature_size=16, hidden_size=384, mlp_dim=1536, num_heads=6), 16, 16),
    "SwinUNETR": (dict(feature_size=24), 32, 64),
}
_SCRATCH = ("UNet", "ResUNet", "AttentionUNet", "FCN8s", "Null")


def _smp_info(arch: str) -> ModelInfo:
    multiple, min_size = _SMP_SIZES.get(arch, (32, 32))
    if arch == "DPT":
        return ModelInfo(
            f"smp.{arch}",
            lambda spec: _smp(arch, spec, img_size=spec.image_size, decoder_readout="ignore"),
            multiple,
            min_size,
            uses_encoder=True,
            encoder_prefix="tu-",
            default_encoder="tu-vit_tiny_patch16_224",
        )
    return ModelInfo(
        f"smp.{arch}",
        functools.partial(_smp, arch),
        multiple,
        min_size,
        uses_encoder=True,
        default_encoder="resnet18",
    )


def _build_registry() -> dict[str, ModelInfo]:
    infos = [_smp_info(arch) for arch in _SMP_ARCHS]
    infos += [ModelInfo(f"monai.{n}", _monai(n, **kw), m, lo) for n, (kw, m, lo) in _MONAI.items()]
    infos += [ModelInfo(f"scratch.{n}", _scratch(n), SIZE_MULTIPLE[n], MIN_SIZE[n]) for n in _SCRATCH]
    return {info.name: info for info in infos}


MODELS: dict[str, ModelInfo] = _build_registry()


def list_models(source: str | None = None) -> list[str]:
    return [name for name, info in MODELS.items() if source in (None, info.source)]


def get_model_info(name: str, *, where: str = "model.name") -> ModelInfo:
    try:
        return MODELS[name]
    except KeyError:
        raise unknown_name("model", name, MODELS, where=where) from None


@functools.cache
def smp_encoders() -> tuple[str, ...]:
    # local: smp, MONAI and timm are imported only for the family a config names
    import segmentation_models_pytorch as smp

    return tuple(smp.encoders.get_encoder_names())


def check_encoder(info: ModelInfo, encoder: str | None, *, where: str = "model.encoder") -> None:
    """Refuse an encoder the architecture cannot take (unknown name, or not a timm ``tu-`` one for DPT)."""
    if not info.uses_encoder:
        return
    if not encoder:
        raise UserError(f"{where}: {info.name} needs an encoder, e.g. '{info.default_encoder}'")
    if info.encoder_prefix and not encoder.startswith(info.encoder_prefix):
        raise UserError(f"{where}: {info.name} takes only timm encoders spelled 'tu-<name>', got '{encoder}'")
    if encoder.startswith("tu-"):
        # local: smp, MONAI and timm are imported only for the family a config names
        import timm

        if not timm.list_models(encoder[3:]):
            raise unknown_name("timm encoder", encoder[3:], timm.list_models(), where=where)
    elif encoder not in smp_encoders():
        raise unknown_name("encoder", encoder, smp_encoders(), where=where)


def build_model(
    name: str,
    *,
    encoder: str | None,
    encoder_weights: str | None,
    image_size: int,
    in_channels: int = IN_CHANNELS,
) -> nn.Module:
    """Build the network; a weight download that fails offline becomes a clear UserError.

    smp adapts pretrained encoder weights to one input channel itself (it sums the first convolution's).
    """
    info = get_model_info(name)
    spec = ModelSpec(encoder if info.uses_encoder else None, encoder_weights, image_size, in_channels)
    if encoder_weights is None:
        return info.build(spec)
    if not info.uses_encoder:
        raise UserError(f"model.encoder_weights: {name} has no pretrained encoder; use encoder_weights: null")
    try:
        return info.build(spec)
    except (OSError, RuntimeError, ValueError, KeyError) as err:
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise UserError(
            f"model.encoder_weights: cannot get '{encoder_weights}' weights for {spec.encoder}{offline}: "
            f"{type(err).__name__}; this machine may be offline; use encoder_weights: null or fill the "
            "Hugging Face cache first"
        ) from None
