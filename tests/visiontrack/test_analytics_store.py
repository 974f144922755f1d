"""The analytics store against the real embedded ClickHouse engine (chDB)."""

from __future__ import annotations

from schemas.tracks import DetectedObject, FrameTracks, TrackedObject
from visiontrack.analytics_store import AnalyticsStore


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
