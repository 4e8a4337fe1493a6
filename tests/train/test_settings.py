"""GPU settings resolved at run time; what can be checked without a GPU."""

from __future__ import annotations

import torch
from torch import nn

from rudratune.nets.scratch import Null
from rudratune.train.settings import on_gpu, prepare_net, resolve_precision, use_channels_last


def test_precision_auto_is_32_true_without_a_gpu_and_explicit_values_pass() -> None:
    assert resolve_precision("auto", on_gpu=False) == "32-true"
    assert resolve_precision("16-mixed", on_gpu=False) == "16-mixed"
    assert on_gpu("cpu") is False
    if not torch.cuda.is_available():
        assert on_gpu("auto") is False and resolve_precision("auto", on_gpu=on_gpu("auto")) == "32-true"


def test_channels_last_only_for_conv_nets_on_a_gpu() -> None:
    assert use_channels_last(Null()) and not use_channels_last(nn.Sequential(nn.Linear(3, 1)))
    net = Null()
    assert prepare_net(net, gpu=False, channels_last=True, compile=False) is False
    assert prepare_net(net, gpu=True, channels_last=True, compile=False) is True
    assert net.conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    assert net(x).shape == (2, 1, 8, 8)
