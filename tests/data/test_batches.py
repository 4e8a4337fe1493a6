"""Device batches: the same batches for a seed and epoch, each sample once per epoch, host and device paths."""

from __future__ import annotations

import torch

from rudratune.data.batches import DeviceBatches, epoch_order, place


def _batches(seed: int, epoch: int, *, n: int = 10, batch_size: int = 4, shuffle: bool = True) -> list:
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    y = (x[:, :1] % 2).contiguous()
    batches = DeviceBatches(
        x,
        y,
        batch_size=batch_size,
        device=torch.device("cpu"),
        shuffle=shuffle,
        seed=seed,
        epoch=lambda: epoch,
    )
    return [(bx[:, 0, 0, 0].long().tolist(), by) for bx, by in batches]


def test_same_seed_and_epoch_give_the_same_batches_and_each_sample_once() -> None:
    first, again = _batches(7, 3), _batches(7, 3)
    assert [ids for ids, _ in first] == [ids for ids, _ in again]
    assert [len(ids) for ids, _ in first] == [4, 4, 2]
    assert sorted(i for ids, _ in first for i in ids) == list(range(10))
    for ids, masks in first:  # masks travel with their images
        assert masks.flatten(1)[:, 0].tolist() == [float(i % 2) for i in ids]
    assert [ids for ids, _ in _batches(7, 4)] != [ids for ids, _ in first]  # a new order each epoch
    assert [ids for ids, _ in _batches(8, 3)] != [ids for ids, _ in first]  # and each seed
    assert [ids for ids, _ in _batches(7, 3, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_order_depends_only_on_seed_and_epoch() -> None:
    torch.manual_seed(0)
    a = epoch_order(50, seed=1, epoch=2)
    torch.manual_seed(123)  # the global generator does not matter, so a resumed run draws the same
    b = epoch_order(50, seed=1, epoch=2)
    assert torch.equal(a, b) and sorted(a.tolist()) == list(range(50))


def test_host_placement_gives_the_same_batches() -> None:
    x, y = torch.rand(9, 3, 4, 4), torch.rand(9, 1, 4, 4)
    cpu = torch.device("cpu")
    (hx, hy), on_device = place((x, y), cpu, "host")
    assert on_device  # on a CPU the host is the device
    kwargs = dict(batch_size=4, device=cpu, shuffle=True, seed=5, epoch=lambda: 1)
    direct = list(DeviceBatches(x, y, **kwargs))
    copied = list(DeviceBatches(hx, hy, on_device=False, **kwargs))
    assert all(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(direct, copied, strict=True)
    )


def test_transform_applies_to_each_batch() -> None:
    x, y = torch.zeros(5, 3, 2, 2), torch.zeros(5, 1, 2, 2)
    seen = []

    def transform(bx: torch.Tensor, by: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append(len(bx))
        return bx + 1, by

    out = list(DeviceBatches(x, y, batch_size=2, device=torch.device("cpu"), transform=transform))
    assert seen == [2, 2, 1] and all(bool((bx == 1).all()) for bx, _ in out)
