"""Start-up objects of the worker and the API kept out of the collector's full collections."""

from __future__ import annotations

import gc
import weakref

from visiontrack.gc_freeze import freeze_loaded_objects


def _tracked_ids() -> set[int]:
    return {id(o) for o in gc.get_objects()}  # the permanent generation is not listed


def test_objects_loaded_before_the_freeze_are_frozen_and_later_ones_are_not() -> None:
    loaded = {"model": [1.0, 2.0]}
    try:
        freeze_loaded_objects()
        later = {"frame": [3.0]}
        tracked = _tracked_ids()
        assert gc.get_freeze_count() > 0
        assert id(loaded) not in tracked and id(loaded["model"]) not in tracked
        assert id(later) in tracked
    finally:
        gc.unfreeze()
    assert id(loaded) in _tracked_ids()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_garbage_already_there_is_collected_not_frozen_for_good() -> None:
    node = _Node()
    gone = weakref.ref(node)
    del node
    try:
        freeze_loaded_objects()
        assert gone() is None
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
