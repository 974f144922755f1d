"""Per-stream line counting and zone analytics over confirmed tracks (pure logic, no I/O).

Build :class:`StreamRules` from the stream's configuration, keep one
:class:`StreamAnalytics` per stream, and feed it each frame's tracks as
:class:`TrackPoint`s; see :mod:`.lines` and :mod:`.zones` for the counting rules.
"""

from __future__ import annotations

from processors.analytics.engine import StreamAnalytics
from processors.analytics.events import AnalyticsEvent, Direction, EventKind, TrackPoint
from processors.analytics.geometry import Anchor, Point
from processors.analytics.rules import LineRule, StreamRules, ZoneRule
from processors.analytics.zones import ZoneOccupancy

__all__ = [
    "AnalyticsEvent",
    "Anchor",
    "Direction",
    "EventKind",
    "LineRule",
    "Point",
    "StreamAnalytics",
    "StreamRules",
    "TrackPoint",
    "ZoneOccupancy",
    "ZoneRule",
]
