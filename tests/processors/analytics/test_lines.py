"""Line crossings: direction, the margin band, the segment's extent, classes, lost tracks."""

from __future__ import annotations

from collections.abc import Sequence

from processors.analytics.events import TrackPoint
from processors.analytics.lines import Crossing, LineCounter
from processors.analytics.rules import LineRule
from tests.processors.analytics.helpers import feet

# Horizontal, drawn left to right at y=100: "in" is moving down the image, "out" moving up.
DOOR = LineRule("door", "Door", (0, 100), (200, 100), margin_px=8)
PEOPLE = frozenset({"person"})


def _run(
    counter: LineCounter, frames: list[list[TrackPoint]], first: int = 0
) -> list[tuple[int, int, str]]:
    """(frame_no, track_id, direction) of every crossing."""
    out: list[tuple[int, int, str]] = []
    for frame_no, tracks in enumerate(frames, start=first):
        out += [(frame_no, c.track_id, c.direction) for c in counter.update(frame_no, tracks)]
    return out


def _walk(ys: Sequence[float], x: float = 100, track_id: int = 1) -> list[list[TrackPoint]]:
    return [[feet(track_id, x, y)] for y in ys]


def test_straight_crossing_down_is_in_and_reported_when_stable() -> None:
    counter = LineCounter(DOOR)
    assert _run(counter, _walk([60, 80, 95, 105, 120, 140])) == [(4, 1, "in")]
    assert counter.counts == {"in": 1, "out": 0}


def test_straight_crossing_up_is_out() -> None:
    assert _run(LineCounter(DOOR), _walk([140, 101, 99, 60])) == [(3, 1, "out")]


def test_direction_follows_the_drawing_of_the_line() -> None:
    reversed_door = LineRule("door", "Door", (200, 100), (0, 100))
    assert _run(LineCounter(reversed_door), _walk([60, 140])) == [(1, 1, "out")]
    # Drawn downward at x=100: "in" is moving from right of the image to left.
    post = LineRule("post", "Post", (100, 0), (100, 200))
    frames = [[feet(1, x, 100)] for x in (150, 120, 80, 50)]
    assert _run(LineCounter(post), frames) == [(2, 1, "in")]


def test_jitter_inside_the_band_never_counts() -> None:
    counter = LineCounter(DOOR)
    ys = [80, 93, 107, 94, 106, 92, 108, 95, 80]  # crosses y=100 six times, within ±8
    assert _run(counter, _walk(ys)) == []
    assert counter.counts == {"in": 0, "out": 0}


def test_wobbling_across_then_settling_counts_once() -> None:
    ys = [80, 96, 104, 97, 105, 99, 103, 120, 106, 130]
    assert _run(LineCounter(DOOR), _walk(ys)) == [(7, 1, "in")]


def test_margin_edge_is_inside_the_band() -> None:
    assert _run(LineCounter(DOOR), _walk([80, 108, 92, 108.5])) == [(3, 1, "in")]


def test_back_and_forth_counts_each_real_crossing() -> None:
    ys = [60, 140, 130, 70, 60, 150]
    assert _run(LineCounter(DOOR), _walk(ys)) == [(1, 1, "in"), (3, 1, "out"), (5, 1, "in")]


def test_crossing_beyond_the_segment_does_not_count() -> None:
    assert _run(LineCounter(DOOR), _walk([60, 140], x=300)) == []
    assert _run(LineCounter(DOOR), _walk([60, 140], x=-1)) == []


def test_going_around_the_end_then_through_the_segment_counts_once() -> None:
    frames = [[feet(1, 195, 80)], [feet(1, 215, 120)], [feet(1, 150, 80)]]
    # 195,80 → 215,120 meets y=100 at x=205, past the end (200): no count; the way back
    # meets it at x=182.5, on the segment.
    assert _run(LineCounter(DOOR), frames) == [(2, 1, "out")]


def test_path_through_an_end_point_counts() -> None:
    frames = [[feet(1, 190, 80)], [feet(1, 210, 120)]]  # meets y=100 at x=200 exactly
    assert _run(LineCounter(DOOR), frames) == [(1, 1, "in")]


def test_first_seen_in_the_band_has_no_side_until_it_leaves() -> None:
    assert _run(LineCounter(DOOR), _walk([100, 97, 120, 60])) == [(3, 1, "out")]


def test_class_filter() -> None:
    counter = LineCounter(LineRule("door", "Door", (0, 100), (200, 100), classes=PEOPLE))
    frames = [
        [feet(1, 50, 60, "car"), feet(2, 150, 60)],
        [feet(1, 50, 140, "car"), feet(2, 150, 140)],
    ]
    assert counter.update(0, frames[0]) == []
    assert counter.update(1, frames[1]) == [Crossing(2, "person", "in")]


def test_class_flicker_on_the_crossing_frame_does_not_lose_the_count() -> None:
    counter = LineCounter(LineRule("door", "Door", (0, 100), (200, 100), classes=PEOPLE))
    frames = [[feet(1, 50, 60)], [feet(1, 50, 120, "dog")], [feet(1, 50, 125)]]
    assert _run(counter, frames) == [(2, 1, "in")]


def test_center_anchor_ignores_feet_over_the_line() -> None:
    rule = LineRule("door", "Door", (0, 100), (200, 100), anchor="center")
    # Box 20 tall: feet at 115 and 130 put the centre at 105 (in the band) and 120.
    assert _run(LineCounter(rule), _walk([70, 115])) == []
    assert _run(LineCounter(rule), _walk([70, 130])) == [(1, 1, "in")]


def test_tracks_are_independent_and_reported_in_id_order() -> None:
    frames = [
        [feet(7, 50, 60), feet(3, 150, 140)],
        [feet(7, 50, 140), feet(3, 150, 60)],
    ]
    assert _run(LineCounter(DOOR), frames) == [(1, 3, "out"), (1, 7, "in")]


def test_state_of_a_lost_track_is_dropped() -> None:
    counter = LineCounter(DOOR, lost_after_frames=3)
    counter.update(0, [feet(1, 50, 60)])
    assert counter.update(3, [feet(1, 50, 140)]) == [Crossing(1, "person", "in")]
    counter.update(10, [])  # 10 - 3 > 3: forgotten
    assert counter.update(11, [feet(1, 50, 60)]) == []


def test_a_track_missing_longer_than_lost_after_frames_loses_its_side() -> None:
    counter = LineCounter(DOOR, lost_after_frames=3)
    counter.update(0, [feet(1, 50, 60)])
    counter.update(4, [])  # 4 - 0 > 3: gone
    assert counter.update(5, [feet(1, 50, 140)]) == []
