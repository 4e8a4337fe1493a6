"""Shared fixtures: a tiny real dataset, an isolated output root and the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rudratune.data.synth import write_dataset

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = REPO / "experiments" / "rudraksha.yaml"

TEST_ENV = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "HF_HUB_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "PYTHONWARNINGS": "ignore",
}
# before anything imports ray: Ray reads it at import time and then binds to 127.0.0.1 only
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
TEST_ENV_DROP = ("WANDB_API_KEY", "MLFLOW_TRACKING_URI", "RUDRATUNE_OUTPUT_ROOT", "RAY_ADDRESS")


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


def tiny_overrides(data: Path) -> list[str]:
    """Overrides that make any experiment train in seconds on a CPU."""
    return [
        f"data.root={data}",
        "data.image_size=32",
        "data.batch_size=4",
        "data.num_workers=0",
        "model.name=smp.Unet",
        "model.encoder=resnet18",
        "trainer.max_epochs=2",
    ]


def cli(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m rudratune ARGS`` the way a user runs it."""
    full_env = {k: v for k, v in os.environ.items() if k not in TEST_ENV_DROP}
    full_env.update(TEST_ENV)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rudratune", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=REPO,
    )


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*")} if path.exists() else set()
