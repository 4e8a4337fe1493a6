"""The driver's Tune callbacks, kept alive across ``Tuner.restore``."""

from __future__ import annotations

from typing import Any

from ray.tune.callback import CallbackList

from rudratune.search.driver.tune_state import keep_staged


class DriverCallbacks(CallbackList):
    """Tune callbacks that survive ``Tuner.restore`` as the live objects of this driver.

    ``Tuner.restore`` takes no callbacks (ray-project/ray#41364): it unpickles the ones the first run
    pickled into ``tuner.pkl``. Pickled, this list is only its key (the sweep's experiment path); unpickled
    in the driver it becomes the list registered under that key, so Tune calls the tracker and table that
    ``execute`` holds.
    """

    def __init__(self, key: str, callbacks: list[Any]) -> None:
        super().__init__(callbacks)
        self.key = key
        _LIVE[key] = callbacks

    def get_state(self) -> dict | None:
        """Tune calls it in each save of its state, once the experiment state and the searcher's are staged:
        the driver keeps a complete copy of them beside the sweep (``tune_state.keep``)."""
        keep_staged(self.key)
        return super().get_state()

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _restored_callbacks, (self.key,)


_LIVE: dict[str, list[Any]] = {}


def _restored_callbacks(key: str) -> DriverCallbacks:
    return DriverCallbacks(key, _LIVE.get(key, []))
