"""Line and zone analytics through the worker: rules set through the API, events in ClickHouse
equal to the same rules applied directly to the tracks the worker published."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.broker import free_port
from processors.analytics import StreamAnalytics, StreamRules, TrackPoint
from producers.jobs import publish_file
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


def test_rules_set_in_the_database_give_events_in_clickhouse(pipeline: Pipeline) -> None:
    sessions = pipeline.local.services.sessions
    with session_scope(sessions) as session:
        repository.register_stream(session, "street", "file", str(bikes_video()), {})
    put = pipeline.api.put("/v1/streams/street/rules", json=RULES)
    assert put.status_code == 200, put.text
    time.sleep(2.0)  # the worker reloads rules every 0.5 s

    job = publish_file(
        pipeline.settings, pipeline.bootstrap, sessions, path=bikes_video(), stream_id="street"
    )
    assert pipeline.wait_for_job(job.job_id)["frames_processed"] == 250

    topics = pipeline.settings.topics
    tracks = [
        FrameTracks.from_bytes(m.value()) for m in read_topic(pipeline.bootstrap, topics.tracks)
    ]
    expected = _expected(tracks, StreamRules.from_dict(RULES))
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
