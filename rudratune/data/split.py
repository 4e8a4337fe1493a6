"""Deterministic train/val/test split."""

from __future__ import annotations

import numpy as np


def split_indices(
    n: int, *, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 42
) -> tuple[list[int], list[int], list[int]]:
    """Split ``range(n)`` into train/val/test index lists.

    Val and test get ``floor(fraction * n)`` items each and train the rest, so 128 pairs give the
    published 78/25/25. The permutation comes from ``numpy.random.default_rng(seed)``, which is stable
    across platforms and numpy versions.

    Example:
        >>> [len(s) for s in split_indices(128)]
        [78, 25, 25]
    """
    n_val = int(n * val_fraction)
    n_test = int(n * test_fraction)
    perm = np.random.default_rng(seed).permutation(n).tolist()
    test = sorted(perm[:n_test])
    val = sorted(perm[n_test : n_test + n_val])
    train = sorted(perm[n_test + n_val :])
    return train, val, test
