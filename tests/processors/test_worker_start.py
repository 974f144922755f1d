"""What the worker says of its models' warm-up as it starts."""

from __future__ import annotations

import logging
from concurrent.futures import Future

import pytest

from processors.worker import _log_warm_up


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
