"""A stop signal while Ray starts is held until it has started (raised inside Ray's start it was swallowed by a
``__del__`` once, and once left the driver to die by SIGABRT at exit), and Ray's handlers stay out."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from rudratune import signals


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TUNE_DISABLE_SIGINT_HANDLER", raising=False)  # restored afterwards
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    signals._RECEIVED.clear()
    for sig, handler in before.items():
        signal.signal(sig, handler)


def test_a_signal_while_ray_starts_is_raised_once_it_has_started(capsys: pytest.CaptureFixture[str]) -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), signals.ray_starting():
        os.kill(os.getpid(), signal.SIGTERM)
        reached.append("after the signal")  # Ray's start goes on to its end
        from ray._private import utils

        utils.set_sigterm_handler(lambda signum, frame: None)  # what ray.init does: kept out
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert reached == ["after the signal"]
    assert capsys.readouterr().err == "rudratune: stopping once Ray has started (again to stop now)\n"
    assert signals.terminated() and signals.interrupted_code() == 143
    assert signal.getsignal(signal.SIGTERM) is signals._interrupt  # ours again afterwards


def test_a_second_signal_while_ray_starts_raises_at_once() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), signals.ray_starting():
        os.kill(os.getpid(), signal.SIGINT)
        reached.append("first held")
        os.kill(os.getpid(), signal.SIGINT)
        reached.append("second held")
    assert reached == ["first held"]
    assert not signals.terminated() and signals.interrupted_code() == 130


def test_ray_start_without_a_signal_installs_ours() -> None:
    with signals.ray_starting():
        pass
    assert not signals.interrupted()
    assert signal.getsignal(signal.SIGINT) is signals._interrupt
