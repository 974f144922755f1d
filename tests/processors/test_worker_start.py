"""What the worker does as it starts: it keeps what it loaded out of the garbage
collector's full collections, and says how its models' warm-up went."""

from __future__ import annotations

import gc
import logging
from concurrent.futures import Future

import pytest

from processors.worker import _freeze_loaded_objects, _log_warm_up


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


def _warm_up_log(caplog: pytest.LogCaptureFixture, done: Future[float]) -> list[tuple[int, str]]:
    with caplog.at_level(logging.INFO, logger="processors.worker"):
        _log_warm_up(done)
    return [(r.levelno, r.getMessage()) for r in caplog.records]


def test_the_warm_up_is_logged_with_its_time_or_its_error(caplog: pytest.LogCaptureFixture) -> None:
    done: Future[float] = Future()
    done.set_result(2.46)
    assert _warm_up_log(caplog, done) == [(logging.INFO, "models warmed up in 2.5 s")]

    caplog.clear()
    failed: Future[float] = Future()
    failed.set_exception(RuntimeError("no predictor"))
    assert _warm_up_log(caplog, failed) == [(logging.ERROR, "model warm-up failed: no predictor")]

    caplog.clear()
    cancelled: Future[float] = Future()
    cancelled.cancel()  # the worker stopped before it ran
    assert _warm_up_log(caplog, cancelled) == []
