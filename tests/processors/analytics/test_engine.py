"""StreamAnalytics: event order, repeated frames, reconfiguration, snapshot and restore."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import msgpack
import pytest

from processors.analytics import (
    AnalyticsEvent,
    LineRule,
    StreamAnalytics,
    StreamRules,
    TrackPoint,
    ZoneOccupancy,
    ZoneRule,
)
from tests.processors.analytics.helpers import at, feet

DOOR = LineRule("door", "Door", (0, 100), (200, 100))
GATE = LineRule("gate", "Gate", (100, 0), (100, 300), classes=frozenset({"car"}))
LOBBY = ZoneRule("lobby", "Lobby", ((0, 100), (200, 100), (200, 300), (0, 300)))
YARD = ZoneRule("yard", "Yard", ((0, 0), (200, 0), (200, 100), (0, 100)), min_frames_in=1)
RULES = StreamRules(lines=(DOOR, GATE), zones=(LOBBY, YARD))

Frames = list[tuple[int, float, list[TrackPoint]]]


def _apply(analytics: StreamAnalytics, frames: Frames) -> list[AnalyticsEvent]:
    events = []
    for frame_no, captured_at, tracks in frames:
        events += analytics.update(frame_no, captured_at, tracks)
    return events


def _scene() -> Frames:
    """A person walks down through the door into the lobby; a car crosses the gate."""
    person = [(50, 60), (50, 90), (50, 130), (50, 150), (50, 160), (50, 150), (50, 60), (50, 50)]
    car = [(150, 250), (130, 250), (90, 250), (60, 250), None, None, (40, 250), (30, 250)]
    frames: Frames = []
    for i, (p, c) in enumerate(zip(person, car, strict=True)):
        tracks = [feet(4, *p)] + ([] if c is None else [feet(2, *c, "car")])
        frames.append((i * 2, at(i * 2), tracks))  # frame numbers with gaps
    return frames


def test_scene_events_in_order() -> None:
    events = _apply(StreamAnalytics("cam-1", RULES), _scene())
    assert [
        (e.frame_no, e.kind, e.rule_id, e.track_id, e.direction, e.dwell_s, e.reason)
        for e in events
    ] == [
        (0, "zone_enter", "yard", 4, None, None, None),
        (2, "zone_enter", "lobby", 2, None, None, None),
        (4, "line_cross", "door", 4, "in", None, None),
        (4, "line_cross", "gate", 2, "in", None, None),
        (6, "zone_enter", "lobby", 4, None, None, None),  # inside since frame 4
        (6, "zone_exit", "yard", 4, None, at(2) - at(0), "left"),
        (12, "line_cross", "door", 4, "out", None, None),
        (12, "zone_enter", "yard", 4, None, None, None),
        (14, "zone_exit", "lobby", 4, None, at(10) - at(4), "left"),
    ]
    assert events[0] == AnalyticsEvent("cam-1", 0, at(0), "zone_enter", "yard", 4, "person")


def test_occupancy_and_line_counts() -> None:
    analytics = StreamAnalytics("cam-1", RULES)
    _apply(analytics, _scene())
    assert analytics.occupancy() == {
        "lobby": ZoneOccupancy(1, {"car": 1}, {2: at(14) - at(0)}),
        "yard": ZoneOccupancy(1, {"person": 1}, {4: at(14) - at(12)}),
    }
    assert analytics.line_counts() == {"door": {"in": 1, "out": 1}, "gate": {"in": 1, "out": 0}}


def test_repeated_and_old_frames_are_ignored() -> None:
    analytics = StreamAnalytics("cam-1", StreamRules(lines=(DOOR,)))
    assert analytics.update(5, at(5), [feet(1, 50, 60)]) == []
    before = analytics.snapshot()
    assert analytics.update(5, at(5), [feet(1, 50, 140)]) == []
    assert analytics.update(3, at(3), [feet(1, 50, 140)]) == []
    assert analytics.snapshot() == before
    assert len(analytics.update(6, at(6), [feet(1, 50, 140)])) == 1


def test_duplicate_track_ids_are_rejected_without_applying_the_frame() -> None:
    analytics = StreamAnalytics("cam-1", RULES)
    with pytest.raises(ValueError, match="duplicate track ids"):
        analytics.update(0, at(0), [feet(1, 50, 60), feet(1, 60, 60)])
    assert analytics.last_frame_no is None


def test_reconfigure_keeps_unchanged_rules_and_restarts_changed_ones() -> None:
    analytics = StreamAnalytics("cam-1", RULES)
    _apply(analytics, _scene()[:4])  # 4 is below the door and in the lobby, 2 right of the gate
    renamed_door, renamed_lobby = replace(DOOR, name="Front door"), replace(LOBBY, name="Hall")
    changed_gate = replace(GATE, margin_px=2)
    stairs = LineRule("stairs", "Stairs", (0, 120), (200, 120))
    analytics.reconfigure(
        StreamRules(lines=(renamed_door, changed_gate, stairs), zones=(renamed_lobby,))
    )
    assert analytics.rules.lines == (renamed_door, changed_gate, stairs)
    assert analytics.line_counts() == {
        "door": {"in": 1, "out": 0},  # kept through the rename
        "gate": {"in": 0, "out": 0},  # changed: restarted
        "stairs": {"in": 0, "out": 0},  # new
    }
    assert analytics.occupancy()["lobby"].count == 2
    assert "yard" not in analytics.occupancy()  # removed
    events = analytics.update(8, at(8), [feet(4, 50, 60), feet(2, 110, 250, "car")])
    # The door remembers 4 below it; the restarted gate has no side for 2 yet, nor stairs for 4.
    assert [(e.rule_id, e.direction) for e in events] == [("door", "out")]
    events = analytics.update(10, at(10), [feet(4, 50, 130), feet(2, 60, 250, "car")])
    assert [(e.rule_id, e.direction) for e in events] == [
        ("door", "in"),
        ("gate", "in"),
        ("stairs", "in"),
    ]


def _roundtrip(snapshot: dict[str, Any], codec: str) -> dict[str, Any]:
    if codec == "json":
        return dict(json.loads(json.dumps(snapshot)))
    return dict(msgpack.unpackb(msgpack.packb(snapshot), strict_map_key=False))


@pytest.mark.parametrize("codec", ["json", "msgpack"])
def test_restore_at_any_frame_gives_the_same_events(codec: str) -> None:
    frames = _scene()
    straight = StreamAnalytics("cam-1", RULES)
    expected = _apply(straight, frames)
    for k in range(len(frames) + 1):
        first = StreamAnalytics("cam-1", RULES)
        events = _apply(first, frames[:k])
        snapshot = _roundtrip(first.snapshot(), codec)
        second = StreamAnalytics.restore("cam-1", RULES, snapshot)
        events += _apply(second, frames[k - 1 :] if k else frames)  # a redelivered frame too
        assert events == expected, k
        assert second.snapshot() == straight.snapshot()


def test_restore_under_new_rules_uses_reconfigure_semantics() -> None:
    frames = _scene()
    analytics = StreamAnalytics("cam-1", RULES)
    _apply(analytics, frames[:4])
    new_rules = StreamRules(lines=(replace(DOOR, margin_px=2),), zones=(LOBBY,))
    restored = StreamAnalytics.restore("cam-1", new_rules, analytics.snapshot())
    analytics.reconfigure(new_rules)
    assert restored.snapshot() == analytics.snapshot()
    assert _apply(restored, frames[4:]) == _apply(analytics, frames[4:])


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s.update(version=99),
        lambda s: s.pop("lines"),
        lambda s: s["zones"]["lobby"].update(tracks=[[1, "person"]]),
        lambda s: s["lines"]["door"]["tracks"][0].__setitem__(1, 0),
        lambda s: s["rules"]["lines"][0].update(start="here"),
    ],
)
def test_unreadable_snapshots_raise_value_error(damage: Any) -> None:
    analytics = StreamAnalytics("cam-1", RULES)
    _apply(analytics, _scene()[:4])
    snapshot = json.loads(json.dumps(analytics.snapshot()))
    damage(snapshot)
    with pytest.raises(ValueError, match="invalid analytics snapshot"):
        StreamAnalytics.restore("cam-1", RULES, snapshot)


def _random_walk(seed: int, length: int = 300) -> Frames:
    """Tracks wandering near the door and lobby, flickering, vanishing and coming back."""
    rng = random.Random(seed)
    position = {tid: (rng.uniform(-20, 220), rng.uniform(60, 160)) for tid in range(6)}
    hidden_until = dict.fromkeys(position, 0)
    frames: Frames = []
    frame_no, captured_at = 0, 1_700_000_000.0
    for step in range(length):
        frame_no += rng.choice((1, 1, 1, 2, 5))
        captured_at += rng.uniform(0.02, 0.2)
        tracks = []
        for tid, (x0, y0) in position.items():
            x, y = x0 + rng.gauss(0, 6), y0 + rng.gauss(0, 6)
            position[tid] = (x, y)
            if rng.random() < 0.02:
                hidden_until[tid] = step + rng.randint(3, 20)
            if step >= hidden_until[tid] and rng.random() < 0.9:
                tracks.append(feet(tid, x, y, rng.choice(("person", "person", "car"))))
        rng.shuffle(tracks)
        frames.append((frame_no, captured_at, tracks))
    return frames


@pytest.mark.parametrize("seed", range(8))
def test_random_walks_restore_like_straight_runs(seed: int) -> None:
    frames = _random_walk(seed)
    straight = StreamAnalytics("cam-1", RULES, lost_after_frames=10)
    expected = _apply(straight, frames)
    assert any(e.kind == "line_cross" for e in expected)
    assert any(e.reason == "lost" for e in expected)
    cuts = sorted(random.Random(seed).sample(range(1, len(frames)), 3))
    analytics = StreamAnalytics("cam-1", RULES, lost_after_frames=10)
    events, start = [], 0
    for cut in [*cuts, len(frames)]:
        events += _apply(analytics, frames[start:cut])
        snapshot = _roundtrip(analytics.snapshot(), "msgpack")
        analytics = StreamAnalytics.restore("cam-1", RULES, snapshot, lost_after_frames=10)
        start = cut
    assert events == expected
    assert analytics.occupancy() == straight.occupancy()
