"""Shared fixtures: the offline environment, a tiny real dataset and an isolated output root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rudratune.data.synth import write_dataset  # noqa: I001
from tests.helpers import TEST_ENV, TEST_ENV_DROP  # first: it sets Ray's loopback flag before ray is imported


@pytest.fixture(autouse=True, scope="module")
def _restore_module_environment() -> Iterator[None]:
    """The same for a module's own fixtures: one that runs a command in-process (``train_experiment`` sets
    W&B's folders under its output root) is set up before the per-test snapshot below, so its variables
    reached every later module in the process. Run in one process that was invisible (the modules came in
    order); with two test processes a later module's subprocess staged its W&B files in another test's root."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """A command run in-process (``cli.main``) sets variables of its own: none may leak into the next test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)
    for key in TEST_ENV_DROP:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 synthetic pairs at 64 px: 16 / 4 / 4 after the 60/20/20 split."""
    return write_dataset(tmp_path_factory.mktemp("data") / "tiny", n=24, size=64)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    return root


FIRST = ("tests/search/test_kill_storm.py",)
"""Files collected first: the longest (the kill storm, 150-250 s) started last kept one test process busy for
minutes after the other had finished (pytest-xdist hands whole files out in collection order)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in FIRST)  # stable: the rest keep their order
