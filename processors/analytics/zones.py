"""Polygon zones: enter and exit events with hysteresis, occupancy, and dwell time.

A track's anchor point is tested against the zone's polygon (boundary counts as inside).
Hysteresis keeps one-frame blips from producing events:

* a track **enters** on its ``min_frames_in``-th consecutive observation inside; any
  observation outside before that cancels the pending entry;
* an entered track **exits** (reason ``"left"``) on its ``min_frames_out``-th consecutive
  observation outside; an observation inside before that cancels the pending exit;
* a track unseen for more than ``lost_after_frames`` frame numbers (``frame_no −
  last_seen > lost_after_frames``; DeepSORT's ``max_age`` rule) exits with reason ``"lost"``
  if it had entered, and is forgotten silently if not.

"Consecutive" counts the frames in which the track is observed: a frame where it is missing
(occluded, or showing a class the rule does not take) neither extends nor breaks a streak.

Dwell is measured between observations inside, independent of the hysteresis settings:
``dwell_s = last_inside_at − entered_at``, where ``entered_at`` is the ``captured_at`` of the
first frame of the inside streak that led to the entry (not the later frame that confirmed
it), and ``last_inside_at`` is the ``captured_at`` of the latest frame the track was observed
inside. The exit event carries it; for tracks still inside, :meth:`ZoneCounter.occupancy`
gives the same quantity so far. A track seen inside in frames 10..20 exactly has a dwell of
captured_at[20] − captured_at[10] whatever ``min_frames_in`` and ``min_frames_out`` are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from processors.analytics.events import TrackPoint
from processors.analytics.geometry import point_in_polygon
from processors.analytics.rules import ZoneRule

__all__ = ["ZoneCounter", "ZoneEvent", "ZoneOccupancy"]


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    track_id: int
    class_name: str
    kind: Literal["zone_enter", "zone_exit"]
    dwell_s: float | None = None
    reason: Literal["left", "lost"] | None = None


@dataclass(frozen=True, slots=True)
class ZoneOccupancy:
    """Tracks inside a zone now: their number, per class, and each one's dwell so far."""

    count: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    dwell_s: dict[int, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Presence:
    class_name: str  # at the latest observation
    inside: bool  # entered (confirmed), not merely pending
    streak: int  # observations towards the change: inside while pending, outside once inside
    entered_at: float  # captured_at of the first frame of the inside streak
    last_inside_at: float
    last_seen: int  # frame_no

    def row(self) -> list[Any]:
        """Plain data for a snapshot, in field order."""
        return [
            self.class_name,
            int(self.inside),
            self.streak,
            self.entered_at,
            self.last_inside_at,
            self.last_seen,
        ]


class ZoneCounter:
    """Per-track presence of one :class:`ZoneRule`."""

    def __init__(self, rule: ZoneRule, *, lost_after_frames: int = 30) -> None:
        self.rule = rule
        self.lost_after_frames = lost_after_frames
        self._tracks: dict[int, _Presence] = {}

    def update(
        self, frame_no: int, captured_at: float, tracks: Sequence[TrackPoint]
    ) -> list[ZoneEvent]:
        """Apply one frame; events come out in track-id order (at most one per track)."""
        events = []
        for track in tracks:
            if self.rule.accepts(track.class_name):
                event = self._observe(frame_no, captured_at, track)
                if event is not None:
                    events.append(event)
        for track_id, state in list(self._tracks.items()):
            if frame_no - state.last_seen > self.lost_after_frames:
                del self._tracks[track_id]
                if state.inside:
                    events.append(self._exit(track_id, state, "lost"))
        return sorted(events, key=lambda event: event.track_id)

    def _observe(self, frame_no: int, captured_at: float, track: TrackPoint) -> ZoneEvent | None:
        inside = point_in_polygon(track.anchor(self.rule.anchor), self.rule.polygon)
        state = self._tracks.get(track.track_id)
        if state is None:
            if not inside:
                return None
            state = _Presence(track.class_name, False, 0, captured_at, captured_at, frame_no)
            self._tracks[track.track_id] = state
        state.class_name, state.last_seen = track.class_name, frame_no
        if inside:
            state.last_inside_at = captured_at
        if not state.inside:
            if not inside:  # the pending entry is cancelled
                del self._tracks[track.track_id]
                return None
            state.streak += 1
            if state.streak < self.rule.min_frames_in:
                return None
            state.inside, state.streak = True, 0
            return ZoneEvent(track.track_id, track.class_name, "zone_enter")
        state.streak = 0 if inside else state.streak + 1
        if state.streak < self.rule.min_frames_out:
            return None
        del self._tracks[track.track_id]
        return self._exit(track.track_id, state, "left")

    @staticmethod
    def _exit(track_id: int, state: _Presence, reason: Literal["left", "lost"]) -> ZoneEvent:
        dwell = state.last_inside_at - state.entered_at
        return ZoneEvent(track_id, state.class_name, "zone_exit", dwell, reason)

    def occupancy(self) -> ZoneOccupancy:
        inside = {tid: s for tid, s in sorted(self._tracks.items()) if s.inside}
        by_class: dict[str, int] = {}
        for state in inside.values():
            by_class[state.class_name] = by_class.get(state.class_name, 0) + 1
        dwell = {tid: s.last_inside_at - s.entered_at for tid, s in inside.items()}
        return ZoneOccupancy(len(inside), dict(sorted(by_class.items())), dwell)

    def snapshot(self) -> dict[str, Any]:
        return {"tracks": [[tid, *s.row()] for tid, s in sorted(self._tracks.items())]}

    def restore(self, data: dict[str, Any]) -> None:
        self._tracks = {
            int(tid): _Presence(
                str(name), bool(inside), int(streak), float(at), float(last), int(seen)
            )
            for tid, name, inside, streak, at, last, seen in data["tracks"]
        }
