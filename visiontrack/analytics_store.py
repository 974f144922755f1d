"""Analytics store on ClickHouse, through the clickhouse-connect ``Client``.

The same code drives the embedded engine (``chdb:///path``) and a ClickHouse server
(``http(s)://``). Reads use ``FINAL`` so a redelivered frame is counted once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.analytics import EVENT_COLUMNS, FRAME_TRACKS_COLUMNS, analytics_ddl
from schemas.events import FrameEvents
from schemas.tracks import FrameTracks

__all__ = [
    "AnalyticsStore",
    "StoredFrame",
    "StoredTiming",
    "StreamSummary",
    "connect_analytics",
    "frame_row",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamSummary:
    stream_id: str
    frames: int
    tracks: int
    class_counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One ``frame_tracks`` row; boxes are xyxy pixels."""

    frame_no: int
    track_ids: list[int]
    track_class_ids: list[int]
    track_confidences: list[float]
    track_boxes: list[tuple[float, float, float, float]]
    det_class_ids: list[int]
    det_confidences: list[float]
    det_boxes: list[tuple[float, float, float, float]]


def connect_analytics(dsn: str) -> Client:
    """A clickhouse-connect client for a server URL or the embedded engine."""
    if dsn.startswith("chdb://"):
        from pathlib import Path

        Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=dsn)


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def frame_row(msg: FrameTracks) -> list[object]:
    """The ``frame_tracks`` row of one message, in :data:`FRAME_TRACKS_COLUMNS` order."""
    t, d = msg.tracks, msg.detections
    return [
        msg.stream_id,
        msg.frame_no,
        msg.job_id or "",
        _ts(msg.captured_at),
        _ts(msg.processed_at),
        msg.width,
        msg.height,
        len(d),
        [o.track_id for o in t],
        [o.class_id for o in t],
        [o.class_name for o in t],
        [o.confidence for o in t],
        [o.x1 for o in t],
        [o.y1 for o in t],
        [o.x2 for o in t],
        [o.y2 for o in t],
        [o.class_id for o in d],
        [o.confidence for o in d],
        [o.x1 for o in d],
        [o.y1 for o in d],
        [o.x2 for o in d],
        [o.y2 for o in d],
    ]


def event_rows(msg: FrameEvents) -> list[list[object]]:
    """The ``events`` rows of one message, in :data:`EVENT_COLUMNS` order."""
    return [
        [
            msg.stream_id,
            msg.frame_no,
            _ts(msg.captured_at),
            e.kind,
            e.rule_id,
            e.track_id,
            e.class_name,
            e.direction or "",
            e.dwell_s,
            e.reason or "",
        ]
        for e in msg.events
    ]


@dataclass(frozen=True, slots=True)
class StoredTiming:
    """Stored frames of some streams: count, when the first and last were processed (Unix
    time) and latency quantiles (s)."""

    frames: int
    first_processed_at: float
    last_processed_at: float
    latency_p50_s: float
    latency_p95_s: float
    processed_p50_s: float  # the part of the latency until the worker had tracked it
    processed_p95_s: float

    @property
    def processing_span_s(self) -> float:
        return self.last_processed_at - self.first_processed_at


class AnalyticsStore:
    """Writes and reads per-frame tracks in one ClickHouse database.

    clickhouse-connect clients are not safe for concurrent queries, so calls are serialised.
    """

    def __init__(self, client: Client, database: str) -> None:
        self._client = client
        self._db = database
        self._lock = threading.Lock()

    @property
    def database(self) -> str:
        return self._db

    def ensure_schema(self) -> None:
        with self._lock:
            for statement in analytics_ddl(self._db):
                self._client.command(statement)

    def insert_frames(self, frames: Sequence[FrameTracks]) -> None:
        if not frames:
            return
        rows = [frame_row(f) for f in frames]
        with self._lock:
            self._client.insert(
                f"{self._db}.frame_tracks", rows, column_names=list(FRAME_TRACKS_COLUMNS)
            )

    def insert_events(self, messages: Sequence[FrameEvents]) -> None:
        rows = [row for m in messages for row in event_rows(m)]
        if not rows:
            return
        with self._lock:
            self._client.insert(f"{self._db}.events", rows, column_names=list(EVENT_COLUMNS))

    def line_counts(self, stream_id: str) -> dict[tuple[str, str], int]:
        """Crossings per (line id, direction) of a stream, each event counted once."""
        rows = self._query(
            f"SELECT rule_id, direction, count() FROM {self._db}.events FINAL "
            "WHERE stream_id = {stream:String} AND kind = 'line_cross' "
            "GROUP BY rule_id, direction",
            {"stream": stream_id},
        )
        return {(str(rule), str(direction)): int(n) for rule, direction, n in rows}

    def events_of(self, stream_id: str) -> list[tuple[int, str, str, int, str]]:
        """(frame_no, kind, rule_id, track_id, direction) of a stream's events, in order."""
        rows = self._query(
            f"SELECT frame_no, kind, rule_id, track_id, direction FROM {self._db}.events FINAL "
            "WHERE stream_id = {stream:String} ORDER BY frame_no, rule_id, track_id, kind",
            {"stream": stream_id},
        )
        return [(int(f), str(k), str(r), int(t), str(d)) for f, k, r, t, d in rows]

    def timing(self, stream_ids: Sequence[str]) -> StoredTiming:
        """How the streams' stored frames were processed: how many, the first and the last
        ``processed_at``, and the end-to-end latency (``stored_at`` minus
        ``captured_at``) and its part until the worker (``processed_at`` minus
        ``captured_at``) at the median and the 95th percentile."""
        rows = self._query(
            "SELECT count(), toFloat64(min(processed_at)), toFloat64(max(processed_at)),"
            " quantiles(0.5, 0.95)(toFloat64(stored_at) - toFloat64(captured_at)),"
            " quantiles(0.5, 0.95)(toFloat64(processed_at) - toFloat64(captured_at))"
            f" FROM {self._db}.frame_tracks FINAL WHERE stream_id IN {{streams:Array(String)}}",
            {"streams": list(stream_ids)},
        )
        count, first, last, (p50, p95), (w50, w95) = rows[0]
        quantiles = (float(p50), float(p95), float(w50), float(w95))
        return StoredTiming(int(count), float(first), float(last), *quantiles)

    def job_frame_counts(self, job_ids: Sequence[str]) -> dict[str, int]:
        """Distinct frames stored per job."""
        if not job_ids:
            return {}
        result = self._query(
            f"SELECT job_id, count() FROM {self._db}.frame_tracks FINAL "
            "WHERE job_id IN {jobs:Array(String)} GROUP BY job_id",
            {"jobs": list(job_ids)},
        )
        return {str(job): int(n) for job, n in result}

    def frame_count(self, stream_id: str, *, final: bool = True) -> int:
        """Frames stored for a stream; ``final=False`` counts physical rows (duplicates too)."""
        modifier = "FINAL" if final else ""
        rows = self._query(
            f"SELECT count() FROM {self._db}.frame_tracks {modifier} "
            "WHERE stream_id = {stream:String}",
            {"stream": stream_id},
        )
        return int(rows[0][0])

    def frame_numbers(self, stream_id: str) -> list[int]:
        """Frame numbers of all physical rows of a stream, in order (duplicates kept)."""
        rows = self._query(
            f"SELECT frame_no FROM {self._db}.frame_tracks "
            "WHERE stream_id = {stream:String} ORDER BY frame_no",
            {"stream": stream_id},
        )
        return [int(r[0]) for r in rows]

    def stream_summary(self, stream_id: str) -> StreamSummary:
        """Frames, distinct confirmed tracks and tracks per class of a stream."""
        return self._summary("stream_id = {key:String}", stream_id, stream_id)

    def job_summary(self, job_id: str, stream_id: str) -> StreamSummary:
        """The same, over the frames of one job."""
        return self._summary("job_id = {key:String}", job_id, stream_id)

    def _summary(self, where: str, key: str, stream_id: str) -> StreamSummary:
        table = f"{self._db}.frame_tracks FINAL"
        frames = self._query(f"SELECT count() FROM {table} WHERE {where}", {"key": key})
        rows = self._query(
            "SELECT class_name, uniqExact(track_id) FROM ("
            f" SELECT class_name, track_id FROM {table}"
            " ARRAY JOIN class_names AS class_name, track_ids AS track_id"
            f" WHERE {where}"
            ") GROUP BY class_name ORDER BY class_name",
            {"key": key},
        )
        counts = {str(name): int(n) for name, n in rows}
        return StreamSummary(stream_id, int(frames[0][0]), sum(counts.values()), counts)

    def stream_frames(self, stream_id: str) -> list[StoredFrame]:
        """Every stored frame of a stream, in frame order, with its tracks and detections."""
        rows = self._query(
            "SELECT frame_no, track_ids, class_ids, confidences, x1, y1, x2, y2,"
            " det_class_ids, det_confidences, det_x1, det_y1, det_x2, det_y2"
            f" FROM {self._db}.frame_tracks FINAL WHERE stream_id = {{stream:String}}"
            " ORDER BY frame_no",
            {"stream": stream_id},
        )
        return [
            StoredFrame(
                frame_no=int(r[0]),
                track_ids=list(r[1]),
                track_class_ids=list(r[2]),
                track_confidences=list(r[3]),
                track_boxes=list(zip(r[4], r[5], r[6], r[7], strict=True)),
                det_class_ids=list(r[8]),
                det_confidences=list(r[9]),
                det_boxes=list(zip(r[10], r[11], r[12], r[13], strict=True)),
            )
            for r in rows
        ]

    def stream_ids(self) -> list[str]:
        rows = self._query(
            f"SELECT DISTINCT stream_id FROM {self._db}.frame_tracks ORDER BY stream_id", {}
        )
        return [str(r[0]) for r in rows]

    def ping(self) -> bool:
        with self._lock:
            return bool(self._client.ping())

    def _query(self, sql: str, params: dict[str, object]) -> Sequence[Sequence[Any]]:
        with self._lock:
            return self._client.query(sql, parameters=params).result_rows
