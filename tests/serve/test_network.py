"""The network of the served model: a torch.export program with dynamic batch, height and width, for one
architecture of each family (smp, MONAI, scratch), equal to the eager network at other sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rudratune.registry.models import MODELS, build_model
from rudratune.serve.network import examples, save
from rudratune.serve.segmenter import load_network


@pytest.mark.slow
@pytest.mark.parametrize("name", ["smp.Unet", "monai.UNet", "scratch.UNet"])
def test_exports_with_dynamic_height_and_width(name: str, tmp_path: Path) -> None:
    info = MODELS[name]
    net = build_model(name, encoder=info.default_encoder, encoder_weights=None, image_size=64, in_channels=1)
    net.train(False)
    fmt = save(net, examples(1, 64, info.size_multiple), tmp_path / "network.pt2")
    assert fmt == "pt2"  # not the TorchScript fallback
    loaded = load_network(str(tmp_path / "network.pt2"), fmt)
    m = info.size_multiple
    for shape in [(1, 1, 64 + m, 64 + 2 * m), (3, 1, 128, 64)]:
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            got = loaded(torch.cat([x, x]) if shape[0] == 1 else x)[: shape[0]]
            torch.testing.assert_close(got, net(x), atol=1e-4, rtol=1e-4)  # seen: 1.5e-5 on the logits
