"""Every registry entry is exercised: each model builds and trains a step, each loss backpropagates."""

from __future__ import annotations

import pytest
import torch

from rudratune.config.schema import OptimizerConfig, SchedulerConfig
from rudratune.errors import UserError
from rudratune.registry.losses import LOSSES, build_loss, list_losses
from rudratune.registry.models import MODELS, build_model, list_models
from rudratune.registry.optim import SCHEDULERS, get_optimizer_info, list_optimizers, list_schedulers

torch.set_num_threads(1)


def smallest_size(name: str) -> int:
    info = MODELS[name]
    size = max(info.min_size, info.size_multiple)
    return -(-size // info.size_multiple) * info.size_multiple


@pytest.mark.parametrize("name", list_models())
def test_model_forward_backward_at_smallest_size(name: str) -> None:
    """On one channel: grey data (the embedded set, SEM micrographs) builds its networks so."""
    info = MODELS[name]
    size = smallest_size(name)
    torch.manual_seed(0)
    net = build_model(
        name, encoder=info.default_encoder, encoder_weights=None, image_size=size, in_channels=1
    )
    x = torch.randn(2, 1, size, size)
    out = net(x)
    assert out.shape == (2, 1, size, size)
    out.float().mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    assert info.size_error(size) is None
    assert info.size_multiple == 1 or info.size_error(size + 1) is not None  # scratch.Null takes any size


@pytest.mark.parametrize("name", ["smp.Unet", "monai.UNet", "scratch.UNet"])
def test_colour_data_builds_three_input_channels(name: str) -> None:
    net = build_model(
        name, encoder=MODELS[name].default_encoder, encoder_weights=None, image_size=32, in_channels=3
    )
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 1, 32, 32)


def test_registry_covers_the_three_sources() -> None:
    assert len(list_models("smp")) == 12
    assert {
        "monai.UNet",
        "monai.AttentionUnet",
        "monai.BasicUNet",
        "monai.SegResNet",
        "monai.UNETR",
        "monai.SwinUNETR",
    } <= set(list_models("monai"))
    assert {"scratch.UNet", "scratch.ResUNet", "scratch.AttentionUNet", "scratch.FCN8s"} <= set(
        list_models("scratch")
    )


def test_imagenet_weights_fail_fast_and_clearly_offline() -> None:
    with pytest.raises(UserError, match="model.encoder_weights: cannot get 'imagenet' weights for resnet18"):
        build_model("smp.Unet", encoder="resnet18", encoder_weights="imagenet", image_size=64)


@pytest.mark.parametrize("name", list_losses())
def test_loss_takes_logits_and_backpropagates(name: str) -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 16, 16, requires_grad=True)
    target = (torch.rand(2, 1, 16, 16) > 0.8).float()
    loss = build_loss(name, {})(logits, target)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    perfect = build_loss(name, {})(target * 20 - 10, target)
    assert perfect < loss  # a confident, correct prediction scores better than noise


def test_loss_parameters_reach_the_loss() -> None:
    assert build_loss("DiceFocalLoss", {"gamma": 0.5}).focal.gamma == 0.5
    with pytest.raises(UserError, match="loss.gamma: not a parameter of DiceLoss"):
        build_loss("DiceLoss", {"gamma": 2.0})
    assert set(LOSSES) >= {
        "GeneralizedDiceLoss",
        "DiceLoss",
        "DiceCELoss",
        "DiceFocalLoss",
        "FocalLoss",
        "TverskyLoss",
        "BCEWithLogits",
        "JaccardLoss",
        "LovaszLoss",
    }


@pytest.mark.parametrize("name", list_optimizers())
def test_optimizers_step(name: str) -> None:
    p = torch.nn.Parameter(torch.ones(3))
    opt = get_optimizer_info(name).bind(**OptimizerConfig(name=name, lr=0.1).model_dump())([p])
    p.sum().backward()
    opt.step()
    assert (p < 1).all()


@pytest.mark.parametrize("name", list_schedulers())
def test_schedulers_build(name: str) -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    cfg = SchedulerConfig(name=name)
    out = SCHEDULERS[name].bind(max_epochs=10, **cfg.model_dump())(opt)
    if name == "none":
        assert out is None
        return
    sched = out["scheduler"]
    if name == "plateau":
        assert out["monitor"] == "val_loss"
        assert (sched.factor, sched.patience, sched.threshold, sched.mode) == (0.5, 5, 1e-3, "min")
        for _ in range(7):
            sched.step(1.0)
        assert opt.param_groups[0]["lr"] == 0.5
    else:
        for _ in range(10):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] < 1.0
