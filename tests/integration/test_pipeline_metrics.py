"""The pipeline's Prometheus metrics, scraped over HTTP while a backlog is worked off: the
worker's consumer lag rises and falls back to 0, and the API process serves the sink's
stage, frames stored and lag."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.broker import free_port
from producers.jobs import FileEncoding, publish_file
from tests.integration.harness import Pipeline, running_pipeline
from tests.prometheus_samples import Samples, parse_samples, scrape
from visiontrack.samples import bikes_video
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration


def _lag_of(samples: Samples, group: str, topic: str) -> list[float]:
    return [
        value
        for (name, labels), value in samples.items()
        if name == "visiontrack_consumer_lag"
        and dict(labels)["group"] == group
        and dict(labels)["topic"] == topic
    ]


@pytest.fixture
def pipeline(pipeline_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Pipeline]:
    settings = pipeline_settings(
        worker_metrics_port=free_port("127.0.0.1"), worker_lag_interval_s=0.25
    )
    with running_pipeline(settings, settings.kafka_bootstrap_servers or "", tmp_path / "logs") as p:
        yield p


def test_lag_rises_with_a_backlog_and_the_sink_reports_its_stage(pipeline: Pipeline) -> None:
    settings = pipeline.settings

    def worker_metrics() -> Samples:
        return scrape(settings.worker_metrics_port)

    deadline = time.monotonic() + 120
    while True:  # the worker serves its metrics once its models are loaded
        try:
            worker_metrics()
            break
        except urllib.error.URLError:
            assert time.monotonic() < deadline, pipeline.local.worker_log_tail()
            time.sleep(0.5)

    sessions = pipeline.local.services.sessions
    # Two jobs on one stream, 500 frames: the worker commits its offsets every 2.8 s, so
    # several commits fall while it works the backlog off.
    jobs = [
        publish_file(
            settings,
            pipeline.bootstrap,
            sessions,
            path=bikes_video(),
            stream_id="street",
            encoding=FileEncoding.JPEG,  # on the frames topic, whose lag is watched
        )
        for _ in range(2)
    ]
    worker, frames = settings.worker_id, settings.topics.frames
    most = 0.0
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        most = max([most, *_lag_of(worker_metrics(), worker, frames)])
        done = [pipeline.api.get(f"/v1/jobs/{j.job_id}").json()["state"] for j in jobs]
        if done == ["done", "done"]:
            break
        time.sleep(0.2)
    assert done == ["done", "done"]
    assert most > 0, "no backlog was ever seen on the frames topic"

    # Once the last offsets are committed the lag is 0 on every partition that has any.
    deadline = time.monotonic() + 30
    while (lags := _lag_of(worker_metrics(), worker, frames)) != [0.0] * len(lags) or not lags:
        assert time.monotonic() < deadline, lags
        time.sleep(0.25)

    # The API process runs the sink: its stage, frames and lag are on the API's /metrics.
    deadline = time.monotonic() + 30
    while True:
        api = parse_samples(pipeline.api.get("/metrics").text)
        sink_lag = _lag_of(api, settings.sink_group_id, settings.topics.tracks)
        if sink_lag and sink_lag == [0.0] * len(sink_lag):
            break
        assert time.monotonic() < deadline, sink_lag
        time.sleep(0.25)
    assert api[("visiontrack_sink_frames_total", (("stream_id", "street"),))] == 500
    assert api[("visiontrack_stage_seconds_count", (("stage", "sink"),))] == 500
    assert api[("visiontrack_stage_seconds_sum", (("stage", "sink"),))] > 0
    assert api[("visiontrack_sink_insert_frames_sum", ())] == 500
    assert api[("visiontrack_sink_retries_total", ())] == 0
    # The worker's own stages, for the same frames.
    stages = worker_metrics()
    for stage in ("decode", "detect", "embed", "track"):
        assert stages[("visiontrack_stage_seconds_count", (("stage", stage),))] == 500
    # The backlog is taken several detector batches at a time (batches_per_take), yet the
    # detector never gets more than batch_max_frames at once, and gets full batches.
    assert settings.batch_max_frames == 8 and settings.batches_per_take > 1
    batches = stages[("visiontrack_batch_frames_count", ())]
    assert stages[("visiontrack_batch_frames_bucket", (("le", "8.0"),))] == batches
    assert stages[("visiontrack_batch_frames_bucket", (("le", "4.0"),))] < batches
    assert stages[("visiontrack_batch_frames_sum", ())] == 500
