"""The analytics store against the real embedded ClickHouse engine (chDB)."""

from __future__ import annotations

import time

import pytest

from schemas.analytics import analytics_ddl
from schemas.tracks import DetectedObject, FrameTracks, TrackedObject
from visiontrack.analytics_store import AnalyticsStore, connect_analytics


def _frame(stream: str, frame_no: int, job: str, tracks: list[tuple[int, str]]) -> FrameTracks:
    return FrameTracks(
        stream_id=stream,
        frame_no=frame_no,
        captured_at=1_700_000_000.0 + frame_no,
        processed_at=1_700_000_100.0 + frame_no,
        width=64,
        height=48,
        detections=tuple(
            DetectedObject(class_id=0, confidence=0.5, x1=0, y1=0, x2=10, y2=10) for _ in tracks
        ),
        tracks=tuple(
            TrackedObject(
                track_id=tid,
                class_id=0,
                class_name=name,
                confidence=0.5,
                x1=0,
                y1=0,
                x2=10,
                y2=10,
            )
            for tid, name in tracks
        ),
        job_id=job,
    )


def test_a_frame_written_twice_is_counted_once(analytics_store: AnalyticsStore) -> None:
    frames = [_frame("s", n, "j", [(1, "car")]) for n in range(5)]
    analytics_store.insert_frames(frames)
    analytics_store.insert_frames(frames[2:])  # a redelivered batch, separate insert
    assert analytics_store.frame_count("s") == 5
    assert analytics_store.job_frame_counts(["j", "other"]) == {"j": 5}


def test_summary_counts_distinct_tracks_per_class(analytics_store: AnalyticsStore) -> None:
    analytics_store.insert_frames(
        [
            _frame("a", 0, "j1", [(1, "car"), (2, "person")]),
            _frame("a", 1, "j1", [(1, "car"), (2, "person"), (3, "person")]),
            _frame("a", 2, "j2", [(4, "bicycle")]),
            _frame("b", 0, "j3", [(1, "car")]),
        ]
    )
    summary = analytics_store.stream_summary("a")
    assert summary.frames == 3
    assert summary.class_counts == {"bicycle": 1, "car": 1, "person": 2}
    assert summary.tracks == 4
    job = analytics_store.job_summary("j1", "a")
    assert (job.frames, job.class_counts) == (2, {"car": 1, "person": 2})
    assert analytics_store.stream_ids() == ["a", "b"]


def test_timing_spans_processing_and_measures_latency_to_storage(
    analytics_store: AnalyticsStore,
) -> None:
    now = time.time()
    frames = [
        _frame("a", n, "j", []).model_copy(
            update={"captured_at": now - 2.0, "processed_at": now - 1.0 + n}
        )
        for n in range(3)
    ]
    analytics_store.insert_frames(frames)
    analytics_store.insert_frames([_frame("b", 0, "k", [])])  # another stream, not counted

    timing = analytics_store.timing(["a"])
    assert timing.frames == 3
    assert timing.first_processed_at == pytest.approx(now - 1.0, abs=0.01)
    assert timing.processing_span_s == pytest.approx(2.0, abs=0.01)
    # Stored just now, captured two seconds ago (loose: the machine may be slow).
    assert 2.0 <= timing.latency_p50_s <= timing.latency_p95_s < 30.0


def test_a_table_from_before_stored_at_gets_the_column(
    chdb_dsn: str, clickhouse_database: str
) -> None:
    client = connect_analytics(chdb_dsn)
    old_ddl = [
        s.replace(",\n    stored_at    DateTime64(3, 'UTC') DEFAULT now64(3)", "")
        for s in analytics_ddl(clickhouse_database)
    ]
    assert "stored_at" not in old_ddl[1]
    for statement in old_ddl[:2]:
        client.command(statement)
    store = AnalyticsStore(client, clickhouse_database)
    store.ensure_schema()
    store.insert_frames([_frame("a", 0, "j", [])])
    assert store.timing(["a"]).frames == 1
