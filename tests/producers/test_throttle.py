"""Throttling a live source to a target frame rate by skipping frames."""

from __future__ import annotations

import itertools

import pytest

from producers.live.throttle import Throttle


def _admitted(throttle: Throttle, times: list[float]) -> list[float]:
    return [t for t in times if throttle.admit(t)]


@pytest.mark.parametrize(
    ("source_fps", "target_fps", "expected"),
    [(30.0, 15.0, 15), (30.0, 10.0, 10), (25.0, 10.0, 10), (30.0, 7.5, 7.5), (60.0, 1.0, 1)],
)
def test_a_fast_source_is_cut_to_the_target_rate(
    source_fps: float, target_fps: float, expected: float
) -> None:
    times = [i / source_fps for i in range(int(source_fps * 20))]  # 20 seconds
    admitted = _admitted(Throttle(target_fps), times)
    assert len(admitted) / 20 == pytest.approx(expected, abs=0.1)


def test_jittery_timestamps_keep_the_rate() -> None:
    # 30 fps with +-5 ms of jitter, throttled to 15 fps: every other frame.
    jitter = [0.005, -0.004, 0.003, -0.005, 0.0, 0.002]
    times = [i / 30 + jitter[i % len(jitter)] for i in range(600)]
    admitted = _admitted(Throttle(15.0), times)
    assert len(admitted) == pytest.approx(300, abs=3)


def test_a_source_slower_than_the_target_passes_every_frame() -> None:
    times = [i / 10 for i in range(50)]
    assert _admitted(Throttle(15.0), times) == times


def test_after_a_stall_there_is_no_burst() -> None:
    throttle = Throttle(10.0)
    before = _admitted(throttle, [i / 30 for i in range(30)])  # one second at 30 fps
    after_stall = [5.0 + i / 30 for i in range(30)]  # frames resume four seconds later
    admitted = _admitted(throttle, after_stall)
    assert len(before) == 10
    assert len(admitted) == 10
    gaps = [b - a for a, b in itertools.pairwise(admitted)]
    assert min(gaps) > 0.09


def test_no_target_admits_everything() -> None:
    throttle = Throttle(None)
    assert all(throttle.admit(t) for t in [0.0, 0.0, 0.001, 0.002])


def test_fps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="fps"):
        Throttle(0.0)
