"""Live figures of a stream: counters, the publishing rate, and rate-limited drop reports."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = [
    "DropReport",
    "LiveCounters",
    "LiveFigures",
    "RateMeter",
    "StreamState",
    "StreamStatus",
]


class StreamState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """A consistent snapshot of one stream's counters since the producer started."""

    state: StreamState = StreamState.CONNECTING
    captured: int = 0  # frames read from the source
    throttled: int = 0  # skipped to keep to the target fps
    dropped: int = 0  # dropped oldest because the publisher fell behind
    published: int = 0  # handed to Kafka
    failed: int = 0  # could not be encoded or queued
    reconnects: int = 0
    last_error: str | None = None
    last_frame_at: float | None = None  # wall-clock capture time of the last published frame


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One stream's figures with its current publishing rate (frames per second)."""

    stream_id: str
    figures: LiveFigures
    fps: float | None


class LiveCounters:
    """The mutable, thread-safe counters behind :class:`LiveFigures`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures = LiveFigures()

    def update(self, **changes: object) -> None:
        """Set fields (``state=...``, ``last_error=...``)."""
        with self._lock:
            self._figures = replace(self._figures, **changes)  # type: ignore[arg-type]

    def add(self, name: str, count: int = 1) -> None:
        """Increase the counter ``name`` by ``count``."""
        with self._lock:
            value = getattr(self._figures, name)
            self._figures = replace(self._figures, **{name: value + count})

    def snapshot(self) -> LiveFigures:
        with self._lock:
            return self._figures


class RateMeter:
    """Events per second between successive readings of a growing counter."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None

    def rate(self, now: float, count: int) -> float | None:
        """The rate since the previous reading; None at the first reading."""
        last, self._last = self._last, (now, count)
        if last is None or now <= last[0]:
            return None
        return (count - last[1]) / (now - last[0])


class DropReport:
    """Rate-limits drop warnings: at most one per ``interval_s``, with the count since the last.

    ``add(now, n)`` returns the number of drops to report now (including these), or 0 while
    the interval since the last report has not passed.
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._pending = 0
        self._last_report: float | None = None
        self.total = 0

    def add(self, now: float, count: int = 1) -> int:
        self._pending += count
        self.total += count
        if self._last_report is not None and now - self._last_report < self.interval_s:
            return 0
        reported, self._pending, self._last_report = self._pending, 0, now
        return reported

    def flush(self) -> int:
        """Drops not reported yet (e.g. at stop)."""
        pending, self._pending = self._pending, 0
        return pending
