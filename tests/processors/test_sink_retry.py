"""The analytics sink keeps a batch it cannot store and retries it until ClickHouse is back;
a record it cannot read goes to the dead-letter topic and the rest is stored. Its metrics
count both."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from infra.broker import BundledBroker
from processors.sink.analytics_sink import AnalyticsSink
from schemas.dead_letters import DeadLetter
from schemas.tracks import FrameTracks, TrackedObject
from tests.integration.harness import read_topic
from tests.producers.broker_helpers import prepared
from visiontrack.analytics_store import AnalyticsStore, connect_analytics
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration


def _tracks(frame_no: int) -> FrameTracks:
    car = TrackedObject(
        track_id=7, class_id=1, class_name="car", confidence=0.8, x1=1, y1=2, x2=30, y2=40
    )
    return FrameTracks(
        stream_id="cam",
        frame_no=frame_no,
        captured_at=1_700_000_000.0 + frame_no,
        processed_at=1_700_000_000.5 + frame_no,
        width=64,
        height=48,
        tracks=(car,),
    )


def _until(done: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.2)
    return done()


@pytest.fixture
def sink_settings(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    chdb_dsn: str,
    clickhouse_database: str,
) -> Callable[..., Settings]:
    """Settings of a sink on the session broker and the test's ClickHouse database."""

    def build(**overrides: object) -> Settings:
        return make_settings(
            kafka_bootstrap_servers=broker.bootstrap_servers,
            clickhouse_dsn=chdb_dsn,
            clickhouse_database=clickhouse_database,
            **overrides,
        )

    return build


def test_a_failing_clickhouse_is_retried_and_no_frame_is_lost(
    broker: BundledBroker,
    sink_settings: Callable[..., Settings],
    chdb_dsn: str,
    clickhouse_database: str,
    analytics_store: AnalyticsStore,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    settings = sink_settings(sink_retry_initial_s=0.2, sink_retry_max_s=0.5)
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    # ClickHouse "fails": the table the sink writes to is gone.
    connect_analytics(chdb_dsn).command(f"DROP TABLE {clickhouse_database}.frame_tracks")
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for n in range(5):
        producer.produce(settings.topics.tracks, key=b"cam", value=_tracks(n).to_bytes())
    assert producer.flush(30) == 0
    producer.close()

    sink = AnalyticsSink(settings, broker.bootstrap_servers, analytics_store, sessions)
    with caplog.at_level(logging.ERROR):
        sink.start()
        try:
            assert _until(lambda: sink.stats.retries >= 3), sink.stats
            assert sink.running and sink.stats.frames_written == 0
            analytics_store.ensure_schema()  # ClickHouse is back
            assert _until(lambda: analytics_store.frame_count("cam") == 5)
            assert sink.stats.frames_written == 5
        finally:
            sink.stop()
    failures = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert failures and getattr(failures[0], "streams", None) == ["cam"]
    assert analytics_store.frame_numbers("cam") == [0, 1, 2, 3, 4]
    metric = sink.metrics.registry.get_sample_value
    assert metric("visiontrack_sink_retries_total") == sink.stats.retries
    assert metric("visiontrack_sink_frames_total", {"stream_id": "cam"}) == 5


def test_an_unreadable_record_is_dead_lettered_and_the_rest_stored(
    broker: BundledBroker,
    sink_settings: Callable[..., Settings],
    analytics_store: AnalyticsStore,
) -> None:
    settings = sink_settings()
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    producer.produce(settings.topics.tracks, key=b"cam", value=_tracks(0).to_bytes())
    producer.produce(settings.topics.tracks, key=b"cam", value=b"not a message")
    producer.produce(settings.topics.tracks, key=b"cam", value=_tracks(1).to_bytes())
    assert producer.flush(30) == 0
    producer.close()

    sink = AnalyticsSink(settings, broker.bootstrap_servers, analytics_store, sessions)
    sink.start()
    try:
        assert _until(lambda: analytics_store.frame_count("cam") == 2)
        assert _until(lambda: sink.stats.dead_letters == 1), sink.stats
    finally:
        sink.stop()
    dead = [
        DeadLetter.from_bytes(m.value())
        for m in read_topic(broker.bootstrap_servers, settings.topics.dead_letter)
    ]
    assert [(d.stage, d.topic, d.offset) for d in dead] == [("sink", settings.topics.tracks, 1)]
    metric = sink.metrics.registry.get_sample_value
    assert metric("visiontrack_dead_letters_total", {"stage": "sink"}) == 1
    assert metric("visiontrack_sink_frames_total", {"stream_id": "cam"}) == 2
    assert metric("visiontrack_stage_seconds_count", {"stage": "sink"}) == 2
