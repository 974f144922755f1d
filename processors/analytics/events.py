"""What goes into the analytics of a stream (tracks of a frame) and what comes out (events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from processors.analytics.geometry import Anchor, Point, anchor_point

__all__ = ["AnalyticsEvent", "Direction", "EventKind", "TrackPoint"]

Direction = Literal["in", "out"]
EventKind = Literal["line_cross", "zone_enter", "zone_exit"]


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One confirmed track in a frame; the box is xyxy in source-frame pixels."""

    track_id: int
    class_name: str
    x1: float
    y1: float
    x2: float
    y2: float

    def anchor(self, anchor: Anchor) -> Point:
        return anchor_point((self.x1, self.y1, self.x2, self.y2), anchor)


@dataclass(frozen=True, slots=True)
class AnalyticsEvent:
    """A line crossing, zone enter or zone exit, stamped with the frame that decided it.

    ``direction`` is set for line crossings only; ``dwell_s`` and ``reason`` (``"left"`` or
    ``"lost"``) for zone exits only.
    """

    stream_id: str
    frame_no: int
    captured_at: float
    kind: EventKind
    rule_id: str
    track_id: int
    class_name: str
    direction: Direction | None = None
    dwell_s: float | None = None
    reason: str | None = None
