"""Zones: hysteresis, lost tracks, occupancy per class, exact dwell times."""

from __future__ import annotations

from processors.analytics.events import TrackPoint
from processors.analytics.rules import ZoneRule
from processors.analytics.zones import ZoneCounter, ZoneEvent, ZoneOccupancy
from tests.processors.analytics.helpers import at, feet

SQUARE = ((100.0, 100.0), (200.0, 100.0), (200.0, 200.0), (100.0, 200.0))
LOBBY = ZoneRule("lobby", "Lobby", SQUARE)  # min_frames_in = min_frames_out = 2

IN, OUT = (150.0, 150.0), (50.0, 150.0)


def _run(
    counter: ZoneCounter, frames: list[list[TrackPoint]]
) -> list[tuple[int, int, str, float | None, str | None]]:
    """(frame_no, track_id, kind, dwell_s, reason) of every event; frame i at at(i)."""
    out: list[tuple[int, int, str, float | None, str | None]] = []
    for frame_no, tracks in enumerate(frames):
        for e in counter.update(frame_no, at(frame_no), tracks):
            out.append((frame_no, e.track_id, e.kind, e.dwell_s, e.reason))
    return out


def _path(*places: tuple[float, float] | None, track_id: int = 1) -> list[list[TrackPoint]]:
    """One track through ``places``; None is a frame where it is missing."""
    return [[] if p is None else [feet(track_id, *p)] for p in places]


def test_enter_and_exit_after_two_frames_with_exact_dwell() -> None:
    frames = _path(OUT, OUT, IN, IN, IN, IN, OUT, OUT, OUT)
    assert _run(ZoneCounter(LOBBY), frames) == [
        (3, 1, "zone_enter", None, None),
        (7, 1, "zone_exit", at(5) - at(2), "left"),  # inside in frames 2..5
    ]


def test_dwell_does_not_depend_on_hysteresis() -> None:
    frames = _path(OUT, IN, IN, IN, IN, OUT, OUT, OUT, OUT)
    slow = ZoneRule("lobby", "Lobby", SQUARE, min_frames_in=3, min_frames_out=4)
    fast = ZoneRule("lobby", "Lobby", SQUARE, min_frames_in=1, min_frames_out=1)
    assert _run(ZoneCounter(slow), frames) == [
        (3, 1, "zone_enter", None, None),
        (8, 1, "zone_exit", 0.75, "left"),
    ]
    assert _run(ZoneCounter(fast), frames) == [
        (1, 1, "zone_enter", None, None),
        (5, 1, "zone_exit", 0.75, "left"),
    ]


def test_one_frame_blips_produce_no_events() -> None:
    blip_in = _path(OUT, IN, OUT, OUT, IN, OUT)
    assert _run(ZoneCounter(LOBBY), blip_in) == []
    blip_out = _path(IN, IN, OUT, IN, OUT, IN, IN)
    counter = ZoneCounter(LOBBY)
    assert _run(counter, blip_out) == [(1, 1, "zone_enter", None, None)]
    assert counter.occupancy() == ZoneOccupancy(1, {"person": 1}, {1: at(6) - at(0)})


def test_missing_frames_neither_extend_nor_break_a_streak() -> None:
    frames = _path(IN, None, IN, OUT, None, None, OUT)
    assert _run(ZoneCounter(LOBBY), frames) == [
        (2, 1, "zone_enter", None, None),
        (6, 1, "zone_exit", at(2) - at(0), "left"),
    ]


def test_lost_track_exits_with_its_dwell_so_far() -> None:
    counter = ZoneCounter(LOBBY, lost_after_frames=3)
    frames = _path(IN, IN, IN, OUT, None, None, None, None)
    # last seen at frame 3 (outside, exit pending); 6 - 3 = 3 is not yet lost, 7 - 3 is.
    assert _run(counter, frames) == [
        (1, 1, "zone_enter", None, None),
        (7, 1, "zone_exit", at(2) - at(0), "lost"),
    ]
    assert counter.occupancy() == ZoneOccupancy()


def test_lost_before_entering_is_forgotten_silently() -> None:
    counter = ZoneCounter(LOBBY, lost_after_frames=1)
    assert _run(counter, _path(IN, None, None, IN)) == []  # the streak restarts at frame 3
    assert counter.update(4, at(4), [feet(1, *IN)]) == [ZoneEvent(1, "person", "zone_enter")]


def test_anchor_on_the_boundary_is_inside() -> None:
    frames = _path((100, 150), (200, 200), (150, 100))
    assert _run(ZoneCounter(LOBBY), frames) == [(1, 1, "zone_enter", None, None)]


def test_occupancy_per_class_and_current_dwell() -> None:
    counter = ZoneCounter(LOBBY)
    people = [feet(1, *IN), feet(2, 120, 180), feet(3, 190, 110, "car"), feet(4, *OUT, "car")]
    counter.update(0, at(0), people)
    counter.update(1, at(1), people)
    counter.update(2, at(2), [*people, feet(5, *IN, "bike")])  # 5 is still pending
    counter.update(3, at(3), people[1:])  # 1 is missing, still inside
    assert counter.occupancy() == ZoneOccupancy(
        count=3,
        by_class={"car": 1, "person": 2},
        dwell_s={1: 0.5, 2: 0.75, 3: 0.75},
    )


def test_class_filter_and_the_latest_class_is_reported() -> None:
    counter = ZoneCounter(ZoneRule("lobby", "Lobby", SQUARE, classes=frozenset({"car", "van"})))
    frames = [
        [feet(1, *IN), feet(2, *IN, "car")],
        [feet(1, *IN), feet(2, *IN, "van")],
    ]
    assert _run(counter, frames) == [(1, 2, "zone_enter", None, None)]
    assert counter.occupancy().by_class == {"van": 1}


def test_events_of_a_frame_come_in_track_id_order() -> None:
    counter = ZoneCounter(LOBBY, lost_after_frames=0)
    counter.update(0, at(0), [feet(9, *IN), feet(2, *IN)])
    counter.update(1, at(1), [feet(9, *IN), feet(2, *IN)])
    events = counter.update(2, at(2), [feet(9, *IN), feet(5, *IN)])  # 2 is lost
    assert [(e.track_id, e.kind, e.reason) for e in events] == [(2, "zone_exit", "lost")]
    events = counter.update(3, at(3), [feet(5, *IN), feet(1, *IN)])
    assert [(e.track_id, e.kind) for e in events] == [(5, "zone_enter"), (9, "zone_exit")]
