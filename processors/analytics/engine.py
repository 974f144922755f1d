"""Analytics of one stream: every line and zone rule applied to each frame's tracks.

The worker keeps one :class:`StreamAnalytics` per stream and feeds it frames in increasing
``frame_no``. Delivery is at least once, so a frame whose number is not above the last one
applied is ignored (no events, no state change). Events of a frame come out in a fixed
order: line rules in configuration order, then zone rules, each in track-id order.

Rules can change while the stream runs (:meth:`StreamAnalytics.reconfigure`): a rule whose
id and behaviour are unchanged keeps its per-track state and totals (a new ``name`` alone
changes nothing); a changed rule starts again empty, as does a new one; a removed rule's
state is dropped, without exit events (there is no frame to stamp them with).

:meth:`StreamAnalytics.snapshot` is plain data (dicts, lists, str, int, float, None) that
survives JSON or msgpack, and includes the rules it was taken under; :meth:`restore` picks
up from it with the current rules, by the reconfigure semantics above, so a worker that
restores after a crash produces the same events as one that never stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from processors.analytics.events import AnalyticsEvent, Direction, TrackPoint
from processors.analytics.lines import LineCounter
from processors.analytics.rules import LineRule, StreamRules, ZoneRule
from processors.analytics.zones import ZoneCounter, ZoneOccupancy

__all__ = ["SNAPSHOT_VERSION", "StreamAnalytics"]

SNAPSHOT_VERSION = 1

R = TypeVar("R", LineRule, ZoneRule)


def _same_behaviour(a: R, b: R) -> bool:
    return replace(a, name="") == replace(b, name="")


class StreamAnalytics:
    """``update(frame_no, captured_at, tracks) -> events`` for one stream."""

    def __init__(self, stream_id: str, rules: StreamRules, *, lost_after_frames: int = 30) -> None:
        if lost_after_frames < 0:
            raise ValueError("lost_after_frames must be ≥ 0")
        self.stream_id = stream_id
        self.lost_after_frames = lost_after_frames
        self.last_frame_no: int | None = None
        self._rules = StreamRules()
        self._lines: dict[str, LineCounter] = {}
        self._zones: dict[str, ZoneCounter] = {}
        self.reconfigure(rules)

    @property
    def rules(self) -> StreamRules:
        return self._rules

    def update(
        self, frame_no: int, captured_at: float, tracks: Iterable[TrackPoint]
    ) -> list[AnalyticsEvent]:
        """Apply one frame's confirmed tracks; returns its events ([] for a repeated frame)."""
        if self.last_frame_no is not None and frame_no <= self.last_frame_no:
            return []
        points = list(tracks)
        ids = [point.track_id for point in points]
        if len(set(ids)) != len(ids):
            raise ValueError(f"frame {frame_no}: duplicate track ids")
        self.last_frame_no = frame_no
        stamp = partial(AnalyticsEvent, self.stream_id, frame_no, captured_at)
        events = [
            stamp("line_cross", rule_id, c.track_id, c.class_name, direction=c.direction)
            for rule_id, line in self._lines.items()
            for c in line.update(frame_no, points)
        ]
        events += [
            stamp(e.kind, rule_id, e.track_id, e.class_name, dwell_s=e.dwell_s, reason=e.reason)
            for rule_id, zone in self._zones.items()
            for e in zone.update(frame_no, captured_at, points)
        ]
        return events

    def occupancy(self) -> dict[str, ZoneOccupancy]:
        """Per zone id: tracks inside now, per class, and their dwell so far."""
        return {rule_id: zone.occupancy() for rule_id, zone in self._zones.items()}

    def line_counts(self) -> dict[str, dict[Direction, int]]:
        """Per line id: crossings counted since its state began (start, restore or change)."""
        return {rule_id: dict(line.counts) for rule_id, line in self._lines.items()}

    def reconfigure(self, rules: StreamRules) -> None:
        """Switch to ``rules``, keeping the state of rules whose behaviour is unchanged."""
        lines, zones = {}, {}
        for line_rule in rules.lines:
            line = self._lines.get(line_rule.id)
            if line is None or not _same_behaviour(line.rule, line_rule):
                line = LineCounter(line_rule, lost_after_frames=self.lost_after_frames)
            line.rule = line_rule
            lines[line_rule.id] = line
        for zone_rule in rules.zones:
            zone = self._zones.get(zone_rule.id)
            if zone is None or not _same_behaviour(zone.rule, zone_rule):
                zone = ZoneCounter(zone_rule, lost_after_frames=self.lost_after_frames)
            zone.rule = zone_rule
            zones[zone_rule.id] = zone
        self._rules, self._lines, self._zones = rules, lines, zones

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON/msgpack-compatible data."""
        return {
            "version": SNAPSHOT_VERSION,
            "last_frame_no": self.last_frame_no,
            "rules": self._rules.to_dict(),
            "lines": {rule_id: line.snapshot() for rule_id, line in self._lines.items()},
            "zones": {rule_id: zone.snapshot() for rule_id, zone in self._zones.items()},
        }

    @classmethod
    def restore(
        cls,
        stream_id: str,
        rules: StreamRules,
        snapshot: dict[str, Any],
        *,
        lost_after_frames: int = 30,
    ) -> StreamAnalytics:
        """Continue from ``snapshot`` under ``rules``; ValueError if it cannot be read."""
        try:
            if snapshot["version"] != SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {snapshot['version']!r}")
            saved = StreamRules.from_dict(snapshot["rules"])
            analytics = cls(stream_id, saved, lost_after_frames=lost_after_frames)
            last = snapshot["last_frame_no"]
            analytics.last_frame_no = None if last is None else int(last)
            for rule_id, line in analytics._lines.items():
                line.restore(snapshot["lines"][rule_id])
            for rule_id, zone in analytics._zones.items():
                zone.restore(snapshot["zones"][rule_id])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"invalid analytics snapshot: {exc!r}") from exc
        analytics.reconfigure(rules)
        return analytics
