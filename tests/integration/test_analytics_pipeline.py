"""Line and zone analytics through the worker: rules set through the API, events in ClickHouse
equal to the same rules applied directly to the tracks the worker published."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.broker import free_port
from processors.analytics import StreamAnalytics, StreamRules, TrackPoint
from producers.jobs import FileEncoding, publish_file
from schemas.events import FrameEvents
from schemas.tracks import FrameTracks
from tests.integration.harness import Pipeline, read_topic, running_pipeline
from tests.prometheus_samples import scrape
from visiontrack import repository
from visiontrack.db import session_scope
from visiontrack.samples import bikes_video
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration

# bikes.mp4 is 640x272: a line down the middle (traffic crosses it both ways) and a zone
# over the left half.
RULES = {
    "lines": [{"id": "middle", "name": "middle", "start": [320, 0], "end": [320, 272]}],
    "zones": [
        {"id": "left", "name": "left half", "polygon": [[0, 0], [320, 0], [320, 272], [0, 272]]}
    ],
}


@pytest.fixture
def pipeline(pipeline_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Pipeline]:
    settings = pipeline_settings(
        analytics_rules_refresh_s=0.5,
        worker_metrics_port=free_port("127.0.0.1"),
    )
    bootstrap = settings.kafka_bootstrap_servers or ""
    with running_pipeline(settings, bootstrap, tmp_path / "logs") as p:
        yield p


def _expected(
    tracks: list[FrameTracks], rules: StreamRules
) -> list[tuple[int, str, str, int, str]]:
    """The events of the stream's tracks, computed directly, frame by frame."""
    analytics = StreamAnalytics("street", rules, lost_after_frames=30)
    events = []
    for frame in sorted(tracks, key=lambda t: t.frame_no):
        points = [
            TrackPoint(t.track_id, t.class_name, t.x1, t.y1, t.x2, t.y2) for t in frame.tracks
        ]
        events += analytics.update(frame.frame_no, frame.captured_at, points)
    return sorted((e.frame_no, e.kind, e.rule_id, e.track_id, e.direction or "") for e in events)


def _publish_with_rules(pipeline: Pipeline) -> str:
    """Rules for the street stream through the API, then bikes.mp4 published to it; the
    job's id."""
    sessions = pipeline.local.services.sessions
    with session_scope(sessions) as session:
        repository.register_stream(session, "street", "file", str(bikes_video()), {})
    put = pipeline.api.put("/v1/streams/street/rules", json=RULES)
    assert put.status_code == 200, put.text
    time.sleep(2.0)  # the worker reloads rules every 0.5 s
    job = publish_file(
        pipeline.settings,
        pipeline.bootstrap,
        sessions,
        path=bikes_video(),
        stream_id="street",
        encoding=FileEncoding.JPEG,  # frames, as the stage counts below are per frame
    )
    return job.job_id


def _stored_events_match_the_tracks(pipeline: Pipeline) -> list[tuple[int, str, str, int, str]]:
    """Assert that the stream's events in ClickHouse are the rules applied once to each of
    its frames' tracks as published (the last, where a frame was tracked twice); returns
    them."""
    topics = pipeline.settings.topics
    published = {}
    for m in read_topic(pipeline.bootstrap, topics.tracks):
        tracks = FrameTracks.from_bytes(m.value())
        published[tracks.frame_no] = tracks
    assert sorted(published) == list(range(250))
    expected = _expected(list(published.values()), StreamRules.from_dict(RULES))
    kinds = {kind for _, kind, *_ in expected}
    assert {"line_cross", "zone_enter", "zone_exit"} <= kinds, expected  # a real scene

    events = [
        FrameEvents.from_bytes(m.value()) for m in read_topic(pipeline.bootstrap, topics.events)
    ]
    assert events and all(e.stream_id == "street" for e in events)
    store = pipeline.local.services.store
    deadline = time.monotonic() + 30
    while store.events_of("street") != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert store.events_of("street") == expected
    return expected


def test_rules_set_in_the_database_give_events_in_clickhouse(pipeline: Pipeline) -> None:
    job_id = _publish_with_rules(pipeline)
    assert pipeline.wait_for_job(job_id)["frames_processed"] == 250
    expected = _stored_events_match_the_tracks(pipeline)
    store = pipeline.local.services.store
    crossings = [e for e in expected if e[1] == "line_cross"]
    counts = store.line_counts("street")
    assert sum(counts.values()) == len(crossings)
    assert set(counts) <= {("middle", "in"), ("middle", "out")}

    # The worker's Prometheus metrics saw the same.
    metrics = scrape(pipeline.settings.worker_metrics_port)
    street = (("stream_id", "street"),)
    assert metrics[("visiontrack_frames_in_total", street)] == 250
    assert metrics[("visiontrack_frames_out_total", street)] == 250
    for stage in ("decode", "detect", "embed", "track"):
        assert metrics[("visiontrack_stage_seconds_count", (("stage", stage),))] == 250
    assert metrics[("visiontrack_batch_frames_sum", ())] == 250
    assert metrics[("visiontrack_analytics_events_total", (("kind", "line_cross"),))] == len(
        crossings
    )


def test_a_worker_killed_mid_scene_continues_the_analytics_where_they_were_recorded(
    pipeline: Pipeline,
) -> None:
    store = pipeline.local.services.store
    job_id = _publish_with_rules(pipeline)
    deadline = time.monotonic() + 300
    while store.frame_count("street") < 60:
        pipeline.local.check_worker()
        assert time.monotonic() < deadline, "the worker stored no frames"
        time.sleep(0.2)
    killed_at = store.frame_count("street")
    assert pipeline.local.kill_worker() == -9
    assert killed_at < 200, "the scene ended before the crash"
    pipeline.local.start_worker()
    assert pipeline.wait_for_job(job_id)["frames_processed"] == 250

    # The new worker took each state from the tables, not from scratch: the events are
    # those of one pass over the tracks, none lost, none doubled.
    log = pipeline.local.worker_log().read_text(errors="replace")
    assert "analytics restored from snapshot" in log.split("worker starting")[-1]
    _stored_events_match_the_tracks(pipeline)
