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

    # a copied sweep: its tuner.pkl names the original, its driver made its own list; Tune calls that one
    # and the state copies go to the copy (keep_staged uses .key)
    copied = Counter()
    DriverCallbacks("/runs/copy", [copied])
    (restored,) = pickle.loads(saved)
    restored.on_trial_result(iteration=1, trials=[], trial=None, result={})
    assert (restored.key, copied.results, live.results) == ("/runs/copy", 1, 2)


def test_a_tuner_pkl_of_the_earlier_format_loads() -> None:
    """Earlier releases pickled the list as ``_restored_callbacks(path)``: such a sweep still resumes."""
    from rudratune.search.driver.callbacks import _restored_callbacks

    live = Counter()
    DriverCallbacks("/runs/new", [live])
    restored = _restored_callbacks("/runs/old")
    restored.on_trial_result(iteration=1, trials=[], trial=None, result={})
    assert (restored.key, live.results) == ("/runs/new", 1)
