"""paced(): frames are released on the fps schedule of an injected clock."""

from __future__ import annotations

import pytest

from producers.synthetic import paced


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("fps", [10.0, 15.0, 30.0])
def test_items_are_yielded_at_the_frame_rate(fps: float) -> None:
    clock = FakeClock()
    times = [clock.now for _ in paced(range(5), fps, clock=clock, sleep=clock.sleep)]
    assert times == pytest.approx([100.0 + i / fps for i in range(5)])


def test_a_slow_consumer_restarts_the_schedule_instead_of_bursting() -> None:
    clock = FakeClock()
    times = []
    for i in paced(range(5), 10.0, clock=clock, sleep=clock.sleep):
        times.append(clock.now)
        if i == 1:
            clock.now += 0.5  # the consumer stalls for five frames
    assert times == pytest.approx([100.0, 100.1, 100.6, 100.7, 100.8])


def test_work_done_between_frames_is_subtracted_from_the_sleep() -> None:
    clock = FakeClock()
    for _ in paced(range(3), 10.0, clock=clock, sleep=clock.sleep):
        clock.now += 0.04
    assert clock.sleeps == pytest.approx([0.06, 0.06])


def test_fps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="fps"):
        list(paced([1], 0.0))
