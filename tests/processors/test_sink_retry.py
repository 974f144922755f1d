"""The analytics sink keeps a batch it cannot store and retries it until ClickHouse is back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from infra.broker import BundledBroker
from processors.sink.analytics_sink import AnalyticsSink
from schemas.tracks import FrameTracks, TrackedObject
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


def test_a_failing_clickhouse_is_retried_and_no_frame_is_lost(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    chdb_dsn: str,
    clickhouse_database: str,
    analytics_store: AnalyticsStore,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    settings = make_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        clickhouse_dsn=chdb_dsn,
        clickhouse_database=clickhouse_database,
        sink_retry_initial_s=0.2,
        sink_retry_max_s=0.5,
    )
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
