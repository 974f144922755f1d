"""The worker's analytics of many streams, kept consistent with the snapshots in its table.

Each stream with rules has a :class:`~processors.analytics.engine.StreamAnalytics` in a
worker-local dict; after every frame its snapshot is stored in a Faust table (msgpack
bytes, one value per stream). Before applying a frame the runner compares the local state
with the stored one: after a restart (no local state) or a rebalance (the local state is
older than what another worker stored) it restores from the table, so a stream continues
where it was left, whichever worker applies its next frame. Rules come from ``rules_of``
(the database, refreshed in the background) and are applied to the local state as they
change. Streams without rules cost nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import msgpack

from processors.analytics.engine import StreamAnalytics
from processors.analytics.events import AnalyticsEvent, TrackPoint
from processors.analytics.rules import StreamRules
from schemas.events import FrameEvents, StreamEvent
from schemas.tracks import FrameTracks

__all__ = ["AnalyticsRunner", "Applied"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Applied:
    """What a frame gave: its events (None when there were none) and the new snapshot."""

    events: FrameEvents | None
    snapshot: bytes


def _wire(event: AnalyticsEvent) -> StreamEvent:
    return StreamEvent(
        kind=event.kind,
        rule_id=event.rule_id,
        track_id=event.track_id,
        class_name=event.class_name,
        direction=event.direction,
        dwell_s=event.dwell_s,
        reason=event.reason,
    )


class AnalyticsRunner:
    """``apply(tracks, stored_snapshot) -> Applied | None`` for frames of any stream."""

    def __init__(
        self, rules_of: Callable[[str], StreamRules | None], *, lost_after_frames: int = 30
    ) -> None:
        self._rules_of = rules_of
        self._lost_after_frames = lost_after_frames
        self._streams: dict[str, StreamAnalytics] = {}
        self._written: dict[str, bytes] = {}  # the snapshot each local state last gave

    def wants(self, stream_id: str) -> bool:
        """Whether frames of ``stream_id`` are to be applied: it has rules. Asked before a
        frame is decoded, so streams without rules cost no decoding; a stream whose rules
        were removed has its local state dropped."""
        return self._rules(stream_id) is not None

    def apply(self, tracks: FrameTracks, stored: bytes | None) -> Applied | None:
        """Apply a frame; None when its stream has no rules or the frame was applied before."""
        stream_id = tracks.stream_id
        rules = self._rules(stream_id)
        if rules is None:
            return None
        analytics = self._current(stream_id, rules, stored)
        if analytics.last_frame_no is not None and tracks.frame_no <= analytics.last_frame_no:
            return None
        if analytics.rules != rules:
            log.info("analytics rules changed", extra={"stream_id": stream_id})
            analytics.reconfigure(rules)
        points = [
            TrackPoint(t.track_id, t.class_name, t.x1, t.y1, t.x2, t.y2) for t in tracks.tracks
        ]
        events = analytics.update(tracks.frame_no, tracks.captured_at, points)
        snapshot: bytes = msgpack.packb(analytics.snapshot())
        self._written[stream_id] = snapshot
        if not events:
            return Applied(None, snapshot)
        wire = FrameEvents(
            stream_id=stream_id,
            frame_no=tracks.frame_no,
            captured_at=tracks.captured_at,
            events=tuple(_wire(e) for e in events),
        )
        return Applied(wire, snapshot)

    def _rules(self, stream_id: str) -> StreamRules | None:
        rules = self._rules_of(stream_id)
        if rules is None:
            self._streams.pop(stream_id, None)
            self._written.pop(stream_id, None)
        return rules

    def _current(self, stream_id: str, rules: StreamRules, stored: bytes | None) -> StreamAnalytics:
        """The local state, restored from ``stored`` when that is not where the local is."""
        local = self._streams.get(stream_id)
        if local is not None and stored == self._written.get(stream_id):
            return local  # the table holds what this state wrote: nothing to restore
        if stored is None:
            fresh = StreamAnalytics(stream_id, rules, lost_after_frames=self._lost_after_frames)
            self._streams[stream_id] = fresh
            return fresh
        try:
            restored = StreamAnalytics.restore(
                stream_id,
                rules,
                msgpack.unpackb(stored),
                lost_after_frames=self._lost_after_frames,
            )
        except ValueError as exc:
            log.error(
                "analytics snapshot unreadable, starting afresh: %s",
                exc,
                extra={"stream_id": stream_id},
            )
            restored = StreamAnalytics(stream_id, rules, lost_after_frames=self._lost_after_frames)
        else:
            log.info(
                "analytics restored from snapshot",
                extra={"stream_id": stream_id, "frame_no": restored.last_frame_no},
            )
        self._streams[stream_id] = restored
        return restored
