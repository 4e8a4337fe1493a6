"""Segmentation networks written from scratch in plain PyTorch."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["MIN_SIZE", "SIZE_MULTIPLE", "AttentionUNet", "FCN8s", "Null", "ResUNet", "UNet"]

SIZE_MULTIPLE: dict[str, int] = {"UNet": 16, "ResUNet": 16, "AttentionUNet": 16, "FCN8s": 32, "Null": 1}
MIN_SIZE: dict[str, int] = dict(SIZE_MULTIPLE)

Block = Callable[[int, int], nn.Module]


def _conv_bn_relu(in_ch: int, out_ch: int, kernel_size: int = 3) -> list[nn.Module]:
    return [
        nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    ]


def _conv_bn(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))


def _check_size(x: torch.Tensor, multiple: int, name: str) -> None:
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise ValueError(f"{name} needs input H and W divisible by {multiple}, got {h}x{w}")


class ConvBlock(nn.Sequential):
    """Two (conv 3x3 -> BatchNorm -> ReLU) layers."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(*_conv_bn_relu(in_ch, out_ch), *_conv_bn_relu(out_ch, out_ch))


class ResBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a (1x1 projection when needed) shortcut, then ReLU."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn_relu(in_ch, out_ch),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
        )
        self.shortcut = nn.Identity() if in_ch == out_ch else _conv_bn(in_ch, out_ch)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class AttentionGate(nn.Module):
    """Additive attention gate: scales the skip features x by a map computed from x and gate g."""

    def __init__(self, gate_ch: int, skip_ch: int, inter_ch: int) -> None:
        super().__init__()
        self.w_g = _conv_bn(gate_ch, inter_ch)
        self.w_x = _conv_bn(skip_ch, inter_ch)
        self.psi = nn.Sequential(nn.Conv2d(inter_ch, 1, 1), nn.BatchNorm2d(1), nn.Sigmoid())
        self.act = nn.ReLU(inplace=True)

    def forward(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x * self.psi(self.act(self.w_g(g) + self.w_x(x)))


class _Up(nn.Module):
    """Transposed-conv upsampling, optional attention gate on the skip, concat, then a block."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, block: Block, attention: bool) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_ch, skip_ch, kernel_size=2, stride=2)
        self.gate = AttentionGate(skip_ch, skip_ch, max(skip_ch // 2, 1)) if attention else None
        self.block = block(2 * skip_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        if self.gate is not None:
            skip = self.gate(x, skip)
        return self.block(torch.cat([skip, x], dim=1))


class _EncoderDecoder(nn.Module):
    _block: Block = ConvBlock
    _attention: bool = False

    def __init__(
        self, in_channels: int = 3, classes: int = 1, *, base_channels: int = 32, depth: int = 4
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        block = type(self)._block
        chs = [base_channels * 2**i for i in range(depth + 1)]
        self.size_multiple = 2**depth
        self.stem = block(in_channels, chs[0])
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), block(chs[i], chs[i + 1])) for i in range(depth)
        )
        self.ups = nn.ModuleList(
            _Up(chs[i + 1], chs[i], chs[i], block, self._attention) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(chs[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.size_multiple, type(self).__name__)
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


class UNet(_EncoderDecoder):
    """U-Net (Ronneberger et al., 2015: "U-Net: Convolutional Networks for Biomedical ...")."""


class ResUNet(_EncoderDecoder):
    """Residual U-Net (Zhang et al., 2018: "Road Extraction by Deep Residual U-Net")."""

    _block = ResBlock


class AttentionUNet(_EncoderDecoder):
    """Attention U-Net (Oktay et al., 2018: "Attention U-Net: Learning Where to Look ...")."""

    _attention = True


def _bilinear_kernel(channels: int, size: int) -> torch.Tensor:
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = torch.arange(size, dtype=torch.float32)
    filt1d = 1 - (og - center).abs() / factor
    weight = torch.zeros(channels, channels, size, size)
    weight[range(channels), range(channels)] = filt1d[:, None] * filt1d[None, :]
    return weight


def _upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    size = 2 * factor
    up = nn.ConvTranspose2d(channels, channels, size, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        up.weight.copy_(_bilinear_kernel(channels, size))
    return up


class FCN8s(nn.Module):
    """FCN-8s (Long et al., 2015: "Fully Convolutional Networks for Semantic Segmentation")."""

    def __init__(
        self, in_channels: int = 3, classes: int = 1, *, base_channels: int = 32, depth: int = 4
    ) -> None:
        super().__init__()
        c = base_channels
        widths, n_convs = [c, 2 * c, 4 * c, 8 * c, 8 * c], [2, 2, 3, 3, 3]
        stages: list[nn.Module] = []
        prev = in_channels
        for width, n in zip(widths, n_convs, strict=False):
            layers: list[nn.Module] = []
            for _ in range(n):
                layers += _conv_bn_relu(prev, width)
                prev = width
            stages.append(nn.Sequential(*layers, nn.MaxPool2d(2)))
        self.to_pool3 = nn.Sequential(*stages[:3])
        self.to_pool4, self.to_pool5 = stages[3], stages[4]
        fc = 32 * c
        self.fc = nn.Sequential(
            *_conv_bn_relu(widths[4], fc),
            nn.Dropout2d(0.5),
            *_conv_bn_relu(fc, fc, 1),
            nn.Dropout2d(0.5),
        )
        self.score_fr = nn.Conv2d(fc, classes, 1)
        self.score_pool4 = nn.Conv2d(widths[3], classes, 1)
        self.score_pool3 = nn.Conv2d(widths[2], classes, 1)
        self.up_pool4 = _upsampler(classes, 2)
        self.up_pool3 = _upsampler(classes, 2)
        self.up_final = _upsampler(classes, 8)
        self.size_multiple = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.size_multiple, type(self).__name__)
        pool3 = self.to_pool3(x)
        pool4 = self.to_pool4(pool3)
        score = self.score_fr(self.fc(self.to_pool5(pool4)))
        score = self.up_pool4(score) + self.score_pool4(pool4)
        score = self.up_pool3(score) + self.score_pool3(pool3)
        return self.up_final(score)


class Null(nn.Module):
    """One 1×1 convolution: almost no arithmetic, so a run of it measures the framework's own cost (P7)."""

    def __init__(self, in_channels: int = 3, classes: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
