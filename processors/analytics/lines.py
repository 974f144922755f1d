"""Counting tracks that cross a line segment, with direction, robust to flickering boxes.

A line is directed from ``start`` to ``end``. In image coordinates (y down)::

              left side  (signed distance < 0)
        start ●━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━▶● end
              right side (signed distance > 0)

    left → right is "in"   (for this line: moving down the image)
    right → left is "out"  (moving up); draw the line end → start to swap them.

Each frame, a track's anchor point is *left*, *right*, or *in the band* within ±margin_px of
the (infinite) line. Per track the counter keeps its last *stable* side, outside the band,
and the anchor point where it was last seen there. A crossing counts when the track shows
up stable on the other side **and** the straight path from that last stable point to the
current one intersects the segment start→end (so passing beyond the end of the line does not
count). Hence:

* boxes jittering inside the band never count, whichever side of the line they land on;
* a track wobbling across the line and settling on the other side counts once;
* crossing back later counts again, the other way: once per real crossing;
* a track first seen inside the band has no stable side until it leaves it (no count then).

The crossing is reported on the first frame the track is stable on its new side. A rule
with ``classes`` observes only frames where the track has one of those classes; a frame
with another class is as if the track were absent (so a class that flickers on the
crossing frame does not lose the count). State of tracks unseen for more than
``lost_after_frames`` frame numbers is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from processors.analytics.events import Direction, TrackPoint
from processors.analytics.geometry import Point, segments_intersect, signed_distance
from processors.analytics.rules import LineRule

__all__ = ["Crossing", "LineCounter"]

LEFT, RIGHT = -1, 1


@dataclass(frozen=True, slots=True)
class Crossing:
    track_id: int
    class_name: str
    direction: Direction


@dataclass(slots=True)
class _Stable:
    side: int  # LEFT or RIGHT
    point: Point  # the anchor when last seen outside the band
    last_seen: int  # frame_no


class LineCounter:
    """Per-track crossing state of one :class:`LineRule`, and its totals per direction."""

    def __init__(self, rule: LineRule, *, lost_after_frames: int = 30) -> None:
        self.rule = rule
        self.lost_after_frames = lost_after_frames
        self.counts: dict[Direction, int] = {"in": 0, "out": 0}
        self._tracks: dict[int, _Stable] = {}

    def side(self, point: Point) -> int:
        """LEFT, RIGHT, or 0 inside the band."""
        distance = signed_distance(self.rule.start, self.rule.end, point)
        if abs(distance) <= self.rule.margin_px:
            return 0
        return RIGHT if distance > 0 else LEFT

    def update(self, frame_no: int, tracks: Sequence[TrackPoint]) -> list[Crossing]:
        """Apply one frame; crossings come out in track-id order."""
        crossings = []
        for track in sorted(tracks, key=lambda t: t.track_id):
            if self.rule.accepts(track.class_name):
                direction = self._observe(frame_no, track)
                if direction is not None:
                    self.counts[direction] += 1
                    crossings.append(Crossing(track.track_id, track.class_name, direction))
        lost = [
            track_id
            for track_id, state in self._tracks.items()
            if frame_no - state.last_seen > self.lost_after_frames
        ]
        for track_id in lost:
            del self._tracks[track_id]
        return crossings

    def _observe(self, frame_no: int, track: TrackPoint) -> Direction | None:
        point = track.anchor(self.rule.anchor)
        side = self.side(point)
        state = self._tracks.get(track.track_id)
        if side == 0:
            if state is not None:
                state.last_seen = frame_no
            return None
        self._tracks[track.track_id] = _Stable(side, point, frame_no)
        if state is None or state.side == side:
            return None
        if not segments_intersect(state.point, point, self.rule.start, self.rule.end):
            return None  # went around an end of the segment
        return "in" if side == RIGHT else "out"

    def snapshot(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "tracks": [
                [track_id, s.side, s.point[0], s.point[1], s.last_seen]
                for track_id, s in sorted(self._tracks.items())
            ],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.counts = {"in": int(data["counts"]["in"]), "out": int(data["counts"]["out"])}
        self._tracks = {}
        for track_id, side, x, y, last_seen in data["tracks"]:
            if side not in (LEFT, RIGHT):
                raise ValueError(f"line {self.rule.id!r}: bad side {side!r}")
            self._tracks[int(track_id)] = _Stable(side, (float(x), float(y)), int(last_seen))
