"""Live sources through the real broker: MJPEG-over-HTTP and RTSP cameras that drop mid-stream."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services import ApiServices
from infra.broker import BundledBroker, free_port
from processors.pipeline.chunk_decoder import decode_chunk
from producers.live.runner import LiveSpec, run_live
from producers.sources.camera import parse_camera
from producers.sources.opencv import OpenCVSource
from schemas.frames import FrameMessage
from schemas.video_chunks import VideoChunk
from tests.kafka_reading import earliest_consumer
from tests.producers.broker_helpers import frame_reader, prepared
from tests.producers.mjpeg_server import COLORS, MjpegCamera, color_of
from tests.producers.rtsp_server import RtspCamera
from tests.prometheus_samples import scrape
from visiontrack import repository
from visiontrack.analytics_store import AnalyticsStore
from visiontrack.db import session_scope
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration

BLUE, RED = COLORS[0], COLORS[1]
LIVE_SETTINGS = {
    "live_reconnect_initial_s": 0.2,
    "live_reconnect_max_s": 1.0,
    "live_status_interval_s": 0.5,
    "live_read_timeout_s": 5.0,
}


@pytest.fixture
def live_settings(broker: BundledBroker, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(kafka_bootstrap_servers=broker.bootstrap_servers, **LIVE_SETTINGS)


class Running:
    """``run_live`` in a thread, stopped (and joined) on exit."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], url: str, **kw: object):
        self.stop = threading.Event()
        self.code: int | None = None
        spec = LiveSpec("door", OpenCVSource(parse_camera(url), read_timeout_s=5.0))

        def run() -> None:
            self.code = run_live(
                settings,
                settings.kafka_bootstrap_servers or "",
                sessions,
                [spec],
                self.stop,
                **kw,  # type: ignore[arg-type]
            )

        self.thread = threading.Thread(target=run)

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the producer did not stop"


@pytest.fixture(params=["mjpeg", "rtsp"])
def camera(request: pytest.FixtureRequest) -> Iterator[MjpegCamera | RtspCamera]:
    """A camera served by the test that closes its first connection mid-stream.

    The RTSP one cuts later: FFmpeg probes about 1.5 s of an RTSP stream before it opens.
    """
    cam: MjpegCamera | RtspCamera = (
        MjpegCamera(fps=20.0, cut_after=15)
        if request.param == "mjpeg"
        else RtspCamera(fps=20.0, cut_after=40)
    )
    with cam:
        yield cam


def _colors(frames: list[FrameMessage]) -> list[tuple[int, int, int]]:
    return [color_of(f.jpeg) for f in frames]


def test_a_camera_cut_mid_stream_reconnects_and_publishing_resumes(
    live_settings: Settings,
    camera: MjpegCamera | RtspCamera,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    analytics_store: AnalyticsStore,
) -> None:
    settings = live_settings
    sessions = prepared(settings, broker_of(settings), settings.data_dir)

    with (
        caplog.at_level(logging.INFO),
        frame_reader(broker_of(settings), settings.topics.frames) as reader,
    ):
        with Running(settings, sessions, camera.url) as running:
            frames = reader.read_until(lambda fs: _colors(fs).count(RED) >= 10, timeout=90)
        assert running.code == 0
        frames = reader.read_quiet(2.0)

    colors = _colors(frames)
    assert camera.connections >= 2
    assert BLUE in colors and colors.count(RED) >= 10, colors
    first_red = colors.index(RED)
    assert set(colors[:first_red]) == {BLUE} and set(colors[first_red:]) == {RED}
    assert first_red <= (camera.cut_after or 0)  # no more than was sent before the cut
    assert [f.frame_no for f in frames] == list(range(len(frames)))  # increasing, no repeats
    assert camera.cut_at is not None and frames[first_red].captured_at > camera.cut_at
    assert all(f.source == camera.url and f.job_id is None for f in frames)
    assert all(b.captured_at <= a.captured_at for b, a in itertools.pairwise(frames))

    reconnect_logs = [
        r for r in caplog.records if "reconnecting" in r.getMessage() and r.levelname == "WARNING"
    ]
    assert reconnect_logs and getattr(reconnect_logs[0], "stream_id", None) == "door"
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "door")
        assert stream is not None
        assert (stream.kind, stream.source, stream.state) == ("camera", camera.url, "stopped")
        assert stream.reconnects >= 1 and stream.frames_dropped >= 0
        assert stream.last_seen_at is not None
        assert stream.config["live"] is True and stream.config["queue_frames"] == 4
        # the unused reserved numbers were given back: the next run continues right after
        assert stream.last_frame_no == frames[-1].frame_no

    # The API shows the figures the producer stored.
    services = ApiServices(settings, sessions.kw["bind"], sessions, analytics_store, None)
    with TestClient(create_app(settings, None, services)) as api:
        shown = api.get("/v1/streams/door").json()
    assert (shown["state"], shown["source"]) == ("stopped", camera.url)
    assert shown["reconnects"] >= 1 and shown["last_seen_at"] is not None


def broker_of(settings: Settings) -> str:
    assert settings.kafka_bootstrap_servers is not None
    return settings.kafka_bootstrap_servers


def test_a_target_fps_throttles_a_faster_camera(live_settings: Settings, tmp_path: Path) -> None:
    settings = live_settings
    sessions = prepared(settings, broker_of(settings), settings.data_dir)
    with (
        MjpegCamera(fps=25.0, cut_after=None) as camera,
        frame_reader(broker_of(settings), settings.topics.frames) as reader,
    ):
        with Running(settings, sessions, camera.url, target_fps=5.0):
            frames = reader.read_until(lambda fs: len(fs) >= 16, timeout=90)
        frames = reader.read_quiet(2.0)
    span = frames[-1].captured_at - frames[0].captured_at
    rate = (len(frames) - 1) / span
    assert 3.5 <= rate <= 6.0, f"published {rate:.1f} fps, target 5"


def test_the_cli_streams_until_sigterm_then_flushes_and_stops_cleanly(
    live_settings: Settings, tmp_path: Path
) -> None:
    settings = live_settings
    sessions = prepared(settings, broker_of(settings), settings.data_dir)
    with (
        MjpegCamera(fps=20.0, cut_after=None) as camera,
        frame_reader(broker_of(settings), settings.topics.frames) as reader,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "visiontrack.cli", "produce", "camera", f"lobby={camera.url}"],
            env=os.environ | settings.to_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            reader.read_until(lambda fs: len(fs) >= 10, timeout=90)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        frames = reader.read_quiet(2.0)
    assert proc.returncode == 0, err
    assert "stopped 1 stream(s): lobby" in out
    assert "SIGTERM received" in err
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "lobby")
        assert stream is not None and stream.state == "stopped"
        last = stream.last_frame_no
    # Everything the producer numbered reached the broker: the flush lost nothing.
    assert [f.frame_no for f in frames] == list(range(last + 1))


def test_a_stalled_broker_makes_a_live_stream_drop_its_oldest_frames_not_fall_behind(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The broker is frozen (SIGSTOP) for a few seconds while the camera goes on.

    Without a bound on unacknowledged frames librdkafka would buffer the whole stall and
    publish it late; with it, publishing waits, capture drops the oldest frames and counts
    them, and after the stall the stream resumes with fresh frames and continuous numbers.
    """
    stall_s = 3.0
    with BundledBroker(log_file=tmp_path / "broker.log") as own_broker:
        settings = make_settings(
            kafka_bootstrap_servers=own_broker.bootstrap_servers,
            live_queue_frames=2,
            live_max_in_flight=2,
            live_metrics_port=free_port("127.0.0.1"),
            **LIVE_SETTINGS,
        )
        sessions = prepared(settings, own_broker.bootstrap_servers, settings.data_dir)
        pid = own_broker.pid
        assert pid is not None
        with (
            caplog.at_level(logging.INFO),
            MjpegCamera(fps=30.0, cut_after=None) as camera,
            frame_reader(own_broker.bootstrap_servers, settings.topics.frames) as reader,
        ):
            with Running(settings, sessions, camera.url) as running:
                reader.read_until(lambda fs: len(fs) >= 15, timeout=90)
                os.kill(pid, signal.SIGSTOP)
                stalled_at = time.time()
                try:
                    time.sleep(stall_s)
                finally:
                    os.kill(pid, signal.SIGCONT)
                resumed_at = time.time()
                reader.read_until(
                    lambda fs: sum(f.captured_at > resumed_at for f in fs) >= 15, timeout=90
                )
                scraped = scrape(settings.live_metrics_port)
            assert running.code == 0
            frames = reader.read_quiet(2.0)

    captured = [f.captured_at for f in frames]
    # Nothing captured in the middle of the stall was published late: those frames were
    # dropped. (A few frames captured at its edges were in flight or queued.)
    stale = [t for t in captured if stalled_at + 0.5 < t < resumed_at - 0.5]
    assert stale == [], f"{len(stale)} frames from the stall were published after it"
    assert [f.frame_no for f in frames] == list(range(len(frames)))
    assert all(b < a for b, a in itertools.pairwise(captured))

    drop_logs = [r for r in caplog.records if "publishing is behind" in r.getMessage()]
    assert drop_logs and all(getattr(r, "stream_id", None) == "door" for r in drop_logs)
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "door")
        assert stream is not None
        # the camera sent ~90 frames during the stall; all but a handful were dropped
        assert stream.frames_dropped >= 0.5 * stall_s * camera.fps, stream.frames_dropped
        assert stream.config["max_in_flight"] == 2
    # Prometheus saw the drops while the stream ran.
    door = "stream_id", "door"
    dropped = scraped[("visiontrack_live_frames_total", (("outcome", "dropped"), door))]
    assert dropped >= 0.5 * stall_s * camera.fps
    assert scraped[("visiontrack_live_frames_total", (("outcome", "published"), door))] >= 30
    assert scraped[("visiontrack_live_state", (("state", "live"), door))] == 1


def _read_chunks(consumer: Consumer, until: Callable[[list[VideoChunk]], bool]) -> list[VideoChunk]:
    chunks: list[VideoChunk] = []
    deadline = time.monotonic() + 90
    while not until(chunks) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        value = msg.value()
        assert value is not None and msg.key() == b"door"
        chunks.append(VideoChunk.from_bytes(value))
    return chunks


def test_a_camera_can_send_video_chunks_cut_by_capture_time(
    make_settings: Callable[..., Settings], broker: BundledBroker
) -> None:
    settings = make_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers, chunk_seconds=0.5, **LIVE_SETTINGS
    )
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    consumer = earliest_consumer(broker.bootstrap_servers, settings.topics.video_chunks)
    try:
        with MjpegCamera(fps=20.0, cut_after=None) as camera:
            with Running(settings, sessions, camera.url, chunks=True):
                _read_chunks(consumer, lambda cs: len(cs) >= 4)
            # everything, the chunk open at the stop included, read from the start again
            consumer.close()
            consumer = earliest_consumer(broker.bootstrap_servers, settings.topics.video_chunks)
            with session_scope(sessions) as s:
                stream = repository.get_stream(s, "door")
                assert stream is not None
                last, config = stream.last_frame_no, stream.config
            chunks = _read_chunks(
                consumer, lambda cs: bool(cs) and cs[-1].first_frame_no + cs[-1].frame_count > last
            )
    finally:
        consumer.close()

    assert config["messages"] == "video-chunks" and config["chunk_seconds"] == 0.5
    assert [c.chunk_no for c in chunks] == list(range(len(chunks)))
    assert [c.first_frame_no for c in chunks] == [
        sum(c.frame_count for c in chunks[:i]) for i in range(len(chunks))
    ]
    # nothing lost at the stop: the numbers handed out end with the last chunk's frames
    assert chunks[-1].first_frame_no + chunks[-1].frame_count == last + 1
    assert all(c.job_id is None and c.total_frames is None for c in chunks)
    full = chunks[:-1]  # closed by time; the last one by the stop
    # Each chunk's frames were captured within 0.5 s (its rate is measured over them), and
    # the next chunk starts 0.5 s or more after it: cut by capture time, not by a count of
    # frames at a nominal rate. A camera that stalls and then bursts puts more frames in a
    # chunk, so the count is bounded by the chunk's own rate, not the camera's nominal one.
    assert all((c.frame_count - 1) / c.fps < 0.5 for c in full), [
        (c.frame_count, c.fps) for c in full
    ]
    starts = [c.captured_at for c in full]
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(starts)), starts
    rate = sum(c.frame_count for c in full[:-1]) / (starts[-1] - starts[0])
    assert 0.6 * camera.fps <= rate <= 1.25 * camera.fps, rate
    decoded = [f for c in chunks for f in decode_chunk(c)]
    assert [f.frame_no for f in decoded] == list(range(last + 1))
    assert all(tuple(int(v) > 127 for v in f.image[2, 2]) == (True, False, False) for f in decoded)
