"""The driver's Tune callbacks, kept alive across ``Tuner.restore``."""

from __future__ import annotations

from typing import Any

from ray.tune.callback import CallbackList

from rudratune.search.driver.tune_state import keep_staged


class DriverCallbacks(CallbackList):
    """Tune callbacks that survive ``Tuner.restore`` as the live objects of this driver.

    ``Tuner.restore`` takes no callbacks (ray-project/ray#41364): it unpickles the ones the first run
    pickled into ``tuner.pkl``. Pickled, this list is nothing; unpickled in the driver it becomes the list
    this driver made last, so Tune calls the tracker and table that ``execute`` holds. Not a key saved
    with the pickle: a copied or moved sweep's ``tuner.pkl`` names the original's path, and the copy's
    resume then wrote its state into the original (and called no tracker).
    """

    def __init__(self, key: str, callbacks: list[Any]) -> None:
        super().__init__(callbacks)
        self.key = key  # the sweep's experiment path, as this driver knows it
        global _live
        _live = self

    def get_state(self) -> dict | None:
        """Tune calls it in each save of its state, once the experiment state and the searcher's are staged:
        the driver keeps a complete copy of them beside the sweep (``tune_state.keep``)."""
        keep_staged(self.key)
        return super().get_state()

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _restored_callbacks, ()


_live: DriverCallbacks | None = None
"""The list this driver made last (one sweep a driver)."""


def _restored_callbacks(*_saved: str) -> CallbackList:
    """The driver's live callbacks (``*_saved``: the path that earlier ``tuner.pkl`` files hold, not used)."""
    return _live if _live is not None else CallbackList([])
