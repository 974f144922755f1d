"""Live figures: counters, rates and rate-limited drop reports."""

from __future__ import annotations

import threading

import pytest

from producers.live.figures import DropReport, LiveCounters, RateMeter, StreamState


def test_counters_are_consistent_under_concurrent_updates() -> None:
    counters = LiveCounters()

    def bump() -> None:
        for _ in range(2000):
            counters.add("captured")
            counters.add("dropped", 2)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures = counters.snapshot()
    assert (figures.captured, figures.dropped) == (8000, 16000)


def test_update_sets_state_and_error_without_touching_counts() -> None:
    counters = LiveCounters()
    counters.add("published", 5)
    counters.update(state=StreamState.RECONNECTING, last_error="read failed")
    figures = counters.snapshot()
    assert (figures.state, figures.last_error, figures.published) == (
        StreamState.RECONNECTING,
        "read failed",
        5,
    )


def test_rate_meter_measures_between_readings() -> None:
    meter = RateMeter()
    assert meter.rate(10.0, 0) is None
    assert meter.rate(12.0, 30) == pytest.approx(15.0)
    assert meter.rate(13.0, 30) == pytest.approx(0.0)
    assert meter.rate(13.0, 40) is None  # no time passed


def test_drop_reports_are_rate_limited_and_lose_no_count() -> None:
    report = DropReport(interval_s=5.0)
    reported = [report.add(t) for t in [0.0, 1.0, 2.0, 4.9, 5.0, 6.0, 11.0]]
    assert reported == [1, 0, 0, 0, 4, 0, 2]
    report.add(12.0, 3)
    assert report.flush() == 3
    assert report.total == 10
