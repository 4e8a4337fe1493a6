"""Tuner.restore takes no callbacks: the pickled ones must come back as the driver's live objects."""

from __future__ import annotations

import copy
import pickle

from ray.tune.callback import Callback

from rudratune.search.driver.callbacks import DriverCallbacks


class Counter(Callback):
    def __init__(self) -> None:
        self.results = 0

    def on_trial_result(self, **info: object) -> None:
        self.results += 1


def test_pickled_callbacks_come_back_as_the_live_ones() -> None:
    first = Counter()
    saved = pickle.dumps([DriverCallbacks("/runs/a", [first])])  # what tuner.pkl keeps

    live = Counter()  # the resuming driver's tracker
    DriverCallbacks("/runs/a", [live])
    (restored,) = pickle.loads(saved)
    restored.on_trial_result(iteration=1, trials=[], trial=None, result={})
    assert (live.results, first.results) == (1, 0)
    copy.deepcopy(restored).on_trial_result(iteration=2, trials=[], trial=None, result={})
    assert live.results == 2

    (other,) = pickle.loads(pickle.dumps([DriverCallbacks("/runs/b", [Counter()])]))
    other.on_trial_result(iteration=1, trials=[], trial=None, result={})
    assert live.results == 2  # keyed by the sweep's experiment path
