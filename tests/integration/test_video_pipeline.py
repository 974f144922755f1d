"""A video through Kafka, the Faust worker, the sink, ClickHouse (chDB) and Postgres."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from pathlib import Path

import cv2
import numpy as np
import pytest
from confluent_kafka import Producer

from producers.jobs import FileEncoding, publish_file
from schemas.dead_letters import DeadLetter
from schemas.frames import FrameMessage
from schemas.tracks import FrameTracks
from schemas.video_chunks import VideoChunk
from tests.integration.harness import Pipeline, read_topic, running_pipeline
from visiontrack.samples import bikes_video
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration

# The plumbing runs on a YOLO built from its .yaml (random weights; the worker then keeps a
# few boxes per frame from a very low threshold): boxes on any image, whatever the detector.
PLUMBING_MODEL = {"model": "yolov8n.yaml", "model_imgsz": 320}


def _frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def _running(settings_for: Callable[..., Settings], tmp_path: Path) -> Iterator[Pipeline]:
    """The pipeline these tests run: the plumbing model, logs under ``tmp_path``."""
    settings = settings_for(**PLUMBING_MODEL)
    with running_pipeline(settings, settings.kafka_bootstrap_servers or "", tmp_path / "logs") as p:
        yield p


@pytest.fixture
def pipeline(pipeline_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Pipeline]:
    yield from _running(pipeline_settings, tmp_path)


def _publish(p: Pipeline, path: Path, stream_id: str) -> str:
    """Publish ``path`` as JPEG frames (on the frames topic these tests read and re-send)."""
    result = publish_file(
        p.settings,
        p.bootstrap,
        p.local.services.sessions,
        path=path,
        stream_id=stream_id,
        encoding=FileEncoding.JPEG,
    )
    return result.job_id


def _produce_raw(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def test_video_job_completes_with_each_frame_once(pipeline: Pipeline) -> None:
    video = bikes_video()
    frames_in_video = _frame_count(video)
    bad_jpeg = FrameMessage(
        stream_id="bikes-bad",
        frame_no=0,
        captured_at=0.0,
        source="test",
        width=2,
        height=2,
        jpeg=b"not a jpeg",
    )
    # Bad records first: they must go to the dead-letter topic without stopping the worker.
    _produce_raw(
        pipeline.bootstrap,
        pipeline.settings.topics.frames,
        [
            (b"bikes-bad", b"\x00garbage"),
            (b"bikes-bad", bad_jpeg.to_bytes()),
            (b"someone-else", bad_jpeg.to_bytes()),
        ],
    )

    job_id = _publish(pipeline, video, "bikes")
    job = pipeline.wait_for_job(job_id)

    assert job["state"] == "done"
    assert job["frames_processed"] == job["total_frames"] == frames_in_video == 250
    store = pipeline.local.services.store
    assert store.frame_numbers("bikes") == list(range(frames_in_video))  # physical rows
    assert store.frame_count("bikes") == frames_in_video
    summary = pipeline.api.get(f"/v1/jobs/{job_id}/summary").json()
    assert summary["frames"] == frames_in_video
    assert summary["tracks"] > 0, "the tracker confirmed no track on 250 frames"

    cli = subprocess.run(
        [sys.executable, "-m", "visiontrack.cli", "jobs", "show", job_id, "--json"],
        env=os.environ | pipeline.settings.to_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(cli.stdout)
    assert (shown["state"], shown["frames_processed"]) == ("done", frames_in_video)

    dead = [
        DeadLetter.from_bytes(m.value())
        for m in read_topic(pipeline.bootstrap, pipeline.settings.topics.dead_letter)
    ]
    assert sorted(d.stage for d in dead) == ["decode-frame", "decode-message", "validate-key"]
    assert all(d.topic == pipeline.settings.topics.frames for d in dead)


def _write_video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (160, 120))
    rng = np.random.default_rng(0)
    for i in range(frames):
        image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        cv2.rectangle(image, (10 + 5 * i, 30), (50 + 5 * i, 90), (0, 0, 255), -1)
        writer.write(image)
    writer.release()
    return path


def _resend_and_check(pipeline: Pipeline, tmp_path: Path, first_job: str) -> None:
    """Re-send every frame of the stream byte for byte; none may be applied again."""
    topics = pipeline.settings.topics
    sent = read_topic(pipeline.bootstrap, topics.frames)
    assert len(sent) == 250
    _produce_raw(pipeline.bootstrap, topics.frames, [(m.key(), m.value()) for m in sent])
    # A later job on the same stream: once it is done, the re-sent frames before it
    # in the same partition have been seen by the worker.
    marker_job = _publish(pipeline, _write_video(tmp_path / "marker.mp4", 6), "cam")
    marker = pipeline.wait_for_job(marker_job)
    assert (marker["first_frame_no"], marker["frames_processed"]) == (250, 6)

    records = read_topic(pipeline.bootstrap, topics.tracks)
    tracks = [FrameTracks.from_bytes(m.value()) for m in records]
    emitted = sorted(t.frame_no for t in tracks if t.stream_id == "cam")
    assert emitted == list(range(256)), "the worker re-emitted redelivered frames"
    assert pipeline.local.services.store.frame_numbers("cam") == list(range(256))
    first = pipeline.api.get(f"/v1/jobs/{first_job}").json()
    assert (first["state"], first["frames_processed"]) == ("done", 250)


def test_a_worker_stopped_mid_job_carries_on_where_it_stopped(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """A worker stopped with SIGTERM mid-job (a rolling deploy) finishes the take it is on
    before it goes; the next one restores the applied-frames table from its changelog and
    takes the job on from there: every frame applied once. Every frame re-sent byte for
    byte (those the first worker applied and those the second did) is skipped."""
    store = pipeline.local.services.store
    with ThreadPoolExecutor(1) as publisher:
        publishing = publisher.submit(_publish, pipeline, bikes_video(), "cam")
        deadline = time.monotonic() + 120
        while store.frame_count("cam") < 30:
            pipeline.local.check_worker()
            assert time.monotonic() < deadline, "the worker stored no frame"
            time.sleep(0.1)
        assert pipeline.local.stop_worker() == 0
        first_job = publishing.result()
    tracked = read_topic(pipeline.bootstrap, pipeline.settings.topics.tracks)
    assert len(tracked) < 250, "the job was done before the stop"
    pipeline.local.start_worker()
    assert pipeline.wait_for_job(first_job)["frames_processed"] == 250
    _resend_and_check(pipeline, tmp_path, first_job)


# Loaded at start by the interpreters of the faulty pipeline's workers (a sitecustomize
# module): once imported, the frame processor raises on the batch with frame FAILS_AT,
# once across them all (a marker file says it did).
FAILS_AT = 60
_FAULT = """
import importlib.abc
import importlib.util
import sys
from pathlib import Path

MODULE = "processors.pipeline.frame_processor"
MARKER = Path(__file__).with_name("failed")


def _fail_once(cls):
    process_messages = cls.process_messages

    def failing(self, frames):
        if not MARKER.exists() and any(f.frame_no == FAILS_AT for f in frames):
            MARKER.touch()
            raise RuntimeError("injected: the models thread failed")
        return process_messages(self, frames)

    cls.process_messages = failing


class _Patcher(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _fail_once(module.FrameProcessor)

        spec.loader.exec_module = exec_and_patch
        return spec


sys.meta_path.insert(0, _Patcher())
"""


@pytest.fixture
def faulty_pipeline(
    pipeline_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    """The pipeline, its worker processes started with the fault above."""
    fault = tmp_path / "fault"
    fault.mkdir()
    (fault / "sitecustomize.py").write_text(f"FAILS_AT = {FAILS_AT}\n{_FAULT}")
    path = os.pathsep.join(p for p in (str(fault), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    yield from _running(pipeline_settings, tmp_path)


def test_a_take_that_fails_part_way_stops_the_worker_and_is_tracked_by_the_next(
    faulty_pipeline: Pipeline, tmp_path: Path
) -> None:
    """The models thread fails on a batch of a take (the take's batches before it may have
    sent their tracks): the worker stops (exit code 1) without committing the take, and the
    next one tracks it. Each frame is tracked at least once and stored once."""
    pipeline, frames = faulty_pipeline, 120
    job_id = _publish(pipeline, _write_video(tmp_path / "scene.mp4", frames), "cam")
    assert pipeline.local.wait_for_exit("worker", timeout=240) == 1
    log = pipeline.local.worker_log("worker").read_text(errors="replace")
    assert "injected: the models thread failed" in log
    assert "records failed: the worker stops, and they are read again" in log
    topics = pipeline.settings.topics
    before = {
        FrameTracks.from_bytes(m.value()).frame_no
        for m in read_topic(pipeline.bootstrap, topics.tracks)
    }
    assert FAILS_AT not in before and FAILS_AT - 8 in before, sorted(before)

    pipeline.local.start_worker("worker-2")  # the fault is spent: this one runs clean
    job = pipeline.wait_for_job(job_id)
    assert (job["state"], job["frames_processed"]) == ("done", frames)
    tracks = [
        FrameTracks.from_bytes(m.value()) for m in read_topic(pipeline.bootstrap, topics.tracks)
    ]
    assert {t.frame_no for t in tracks} == set(range(frames))
    store = pipeline.local.services.store
    assert store.frame_count("cam") == frames
    assert sorted(set(store.frame_numbers("cam"))) == list(range(frames))


@pytest.mark.parametrize("encoding", [FileEncoding.H264, FileEncoding.COPY])
def test_a_video_sent_as_chunks_is_tracked_once_per_frame(
    pipeline: Pipeline, tmp_path: Path, encoding: FileEncoding
) -> None:
    """bikes.mp4 as H.264 chunks, or as chunks of its own H.264 (B-frames and all): the
    worker decodes them with continuous frame numbers, a damaged chunk is dead-lettered,
    and re-sent chunks are not applied twice."""
    topics = pipeline.settings.topics
    damaged = VideoChunk(
        stream_id="chunks-bad",
        chunk_no=0,
        first_frame_no=0,
        frame_count=3,
        container="mpegts",
        codec="h264",
        fps=10.0,
        captured_at=0.0,
        data=b"not a video",
    )
    _produce_raw(pipeline.bootstrap, topics.video_chunks, [(b"chunks-bad", damaged.to_bytes())])

    sessions = pipeline.local.services.sessions
    first = publish_file(
        pipeline.settings,
        pipeline.bootstrap,
        sessions,
        path=bikes_video(),
        stream_id="cam",
        encoding=encoding,
    )
    job = pipeline.wait_for_job(first.job_id)
    assert (job["state"], job["frames_processed"], job["total_frames"]) == ("done", 250, 250)

    sent = [
        VideoChunk.from_bytes(m.value())
        for m in read_topic(pipeline.bootstrap, topics.video_chunks)
    ]
    ours = [c for c in sent if c.stream_id == "cam"]
    assert len(ours) > 2, "bikes.mp4 (10 s) should take several 2-second chunks"
    starts = [c.first_frame_no for c in ours]
    assert starts == [0, *accumulate(c.frame_count for c in ours[:-1])]
    assert sum(c.frame_count for c in ours) == 250

    # Re-send every chunk, then a second chunked job on the stream: its numbers continue.
    records = [m for m in read_topic(pipeline.bootstrap, topics.video_chunks) if m.key() == b"cam"]
    _produce_raw(pipeline.bootstrap, topics.video_chunks, [(m.key(), m.value()) for m in records])
    marker = publish_file(
        pipeline.settings,
        pipeline.bootstrap,
        sessions,
        path=_write_video(tmp_path / "marker.mp4", 6),
        stream_id="cam",
        encoding=encoding,
    )
    done = pipeline.wait_for_job(marker.job_id)
    assert (done["first_frame_no"], done["frames_processed"]) == (250, 6)

    tracks = [
        FrameTracks.from_bytes(m.value()) for m in read_topic(pipeline.bootstrap, topics.tracks)
    ]
    emitted = sorted(t.frame_no for t in tracks if t.stream_id == "cam")
    assert emitted == list(range(256)), "a frame was lost or applied twice"
    assert pipeline.local.services.store.frame_numbers("cam") == list(range(256))

    dead = [
        DeadLetter.from_bytes(m.value()) for m in read_topic(pipeline.bootstrap, topics.dead_letter)
    ]
    assert [(d.stage, d.topic) for d in dead] == [("decode-chunk", topics.video_chunks)]
    assert "chunk 0" in dead[0].reason

    shown = pipeline.api.get("/v1/streams/cam").json()
    assert (shown["kind"], shown["last_frame_no"]) == ("file", 255)
    assert shown["config"]["messages"] == "video-chunks"
    assert shown["config"]["encoding"] == encoding.value
    assert {c.container for c in ours} == {
        "mpegts" if encoding is FileEncoding.H264 else "matroska"
    }
    assert "cam" in [s["id"] for s in pipeline.api.get("/v1/streams").json()]
    missing = pipeline.api.get("/v1/streams/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
