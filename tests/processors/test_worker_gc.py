"""The worker keeps what it loaded at start out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from processors.worker import _freeze_loaded_objects


def test_objects_loaded_before_the_worker_runs_are_frozen_and_later_ones_are_not() -> None:
    loaded = {"model": [1.0, 2.0]}
    try:
        _freeze_loaded_objects()
        later = {"frame": [3.0]}
        tracked = {id(o) for o in gc.get_objects()}  # the permanent generation is not listed
        assert gc.get_freeze_count() > 0
        assert id(loaded) not in tracked and id(loaded["model"]) not in tracked
        assert id(later) in tracked
    finally:
        gc.unfreeze()
    assert id(loaded) in {id(o) for o in gc.get_objects()}
