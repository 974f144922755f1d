"""ClickHouse schema for analytics.

``frame_tracks`` holds one row per processed frame with its confirmed tracks, and the raw
detections they came from, as parallel arrays; ``events`` one row per analytics event.
It is a ReplacingMergeTree ordered by ``(stream_id, frame_no)``: a frame that is delivered
and written twice collapses to one row, and queries read it with ``FINAL``, so a
redelivered frame is never counted twice. Per-track analytics use ``ARRAY JOIN``.
"""

from __future__ import annotations

__all__ = ["EVENT_COLUMNS", "FRAME_TRACKS_COLUMNS", "analytics_ddl"]

FRAME_TRACKS_COLUMNS: tuple[str, ...] = (
    "stream_id",
    "frame_no",
    "job_id",
    "captured_at",
    "processed_at",
    "width",
    "height",
    "detections",
    "track_ids",
    "class_ids",
    "class_names",
    "confidences",
    "x1",
    "y1",
    "x2",
    "y2",
    "det_class_ids",
    "det_confidences",
    "det_x1",
    "det_y1",
    "det_x2",
    "det_y2",
)

_FRAME_TRACKS = """
CREATE TABLE IF NOT EXISTS {db}.frame_tracks
(
    stream_id    LowCardinality(String),
    frame_no     UInt64,
    job_id       String,
    captured_at  DateTime64(3, 'UTC'),
    processed_at DateTime64(3, 'UTC'),
    width        UInt16,
    height       UInt16,
    detections   UInt16,
    track_ids    Array(UInt32),
    class_ids    Array(UInt16),
    class_names  Array(LowCardinality(String)),
    confidences  Array(Float32),
    x1           Array(Float32),
    y1           Array(Float32),
    x2           Array(Float32),
    y2           Array(Float32),
    det_class_ids   Array(UInt16),
    det_confidences Array(Float32),
    det_x1       Array(Float32),
    det_y1       Array(Float32),
    det_x2       Array(Float32),
    det_y2       Array(Float32),
    stored_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(processed_at)
PARTITION BY toYYYYMM(captured_at)
ORDER BY (stream_id, frame_no)
"""


EVENT_COLUMNS: tuple[str, ...] = (
    "stream_id",
    "frame_no",
    "captured_at",
    "kind",
    "rule_id",
    "track_id",
    "class_name",
    "direction",
    "dwell_s",
    "reason",
)

# One row per line crossing, zone enter or exit. A redelivered frame's events collapse by
# (stream_id, frame_no, rule_id, track_id, kind); read with FINAL.
_EVENTS = """
CREATE TABLE IF NOT EXISTS {db}.events
(
    stream_id    LowCardinality(String),
    frame_no     UInt64,
    captured_at  DateTime64(3, 'UTC'),
    kind         LowCardinality(String),
    rule_id      LowCardinality(String),
    track_id     UInt32,
    class_name   LowCardinality(String),
    direction    LowCardinality(String),
    dwell_s      Nullable(Float64),
    reason       LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(captured_at)
ORDER BY (stream_id, frame_no, rule_id, track_id, kind)
"""


# When the row reached ClickHouse (the server's clock): with captured_at, the end-to-end
# latency of a frame. Added to tables made before it existed.
_STORED_AT = """
ALTER TABLE {db}.frame_tracks
ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
"""


def analytics_ddl(database: str) -> list[str]:
    """Statements that create the analytics schema in ``database`` (idempotent)."""
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        _FRAME_TRACKS.format(db=database),
        _STORED_AT.format(db=database),
        _EVENTS.format(db=database),
    ]
