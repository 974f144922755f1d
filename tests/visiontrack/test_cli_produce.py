"""``visiontrack produce``: images and files as jobs through the real broker, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

import cv2
import numpy as np
import pytest

from infra.broker import BundledBroker
from processors.pipeline.chunk_decoder import decode_chunk
from producers.live.figures import LiveFigures, StreamState, StreamStatus
from schemas.video_chunks import VideoChunk
from tests.cli import run_cli
from tests.integration.harness import read_topic
from tests.producers.broker_helpers import assert_sent_as_jpeg_frames, frame_reader, prepared
from tests.producers.test_video_file import truncate, write_video
from visiontrack import repository
from visiontrack.cli.produce import status_line
from visiontrack.db import session_scope
from visiontrack.settings import Settings


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("produce", *args, env=os.environ | settings.to_env(), timeout=120)


def test_status_line_shows_each_stream() -> None:
    line = status_line(
        [
            StreamStatus("a", LiveFigures(StreamState.LIVE, published=120, dropped=3), 14.96),
            StreamStatus("b", LiveFigures(StreamState.RECONNECTING), None),
        ]
    )
    assert line == "a live 15.0 fps 120 sent 3 dropped | b reconnecting - fps 0 sent 0 dropped"


@pytest.mark.integration
def test_produce_images_publishes_a_folder_and_reports_a_bad_file(
    broker: BundledBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.jpg"), np.full((30, 40, 3), 60 * i, np.uint8))
    (folder / "1b.jpg").write_bytes(b"\xff\xd8 truncated")

    done = _cli(settings, "images", str(folder), "--stream-id", "imgs", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["frames"] == 3
    assert "1b.jpg" in done.stderr and "stream_id=imgs" in done.stderr
    with frame_reader(broker.bootstrap_servers, settings.topics.frames) as reader:
        frames = reader.read_until(lambda fs: len(fs) >= 3)
    assert [Path(f.source).name for f in frames] == ["0.jpg", "1.jpg", "2.jpg"]
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "imgs")
        assert stream is not None and (stream.kind, stream.last_frame_no) == ("images", 2)


@pytest.mark.integration
def test_produce_file_on_a_damaged_video_exits_with_a_clear_error(
    broker: BundledBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    prepared(settings, broker.bootstrap_servers, settings.data_dir)
    damaged = truncate(write_video(tmp_path / "cam.avi", 40), 0.5)

    done = _cli(settings, "file", str(damaged), "--stream-id", "cam")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("visiontrack: ") and "truncated or corrupt" in last_line


@pytest.mark.integration
def test_produce_file_with_chunks_sends_video_chunks(
    broker: BundledBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers, chunk_seconds=1.0)
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    video = write_video(tmp_path / "cam.avi", 25)

    done = _cli(settings, "file", str(video), "--stream-id", "cam", "--chunks", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["frames"] == 25
    records = read_topic(broker.bootstrap_servers, settings.topics.video_chunks)
    chunks = [VideoChunk.from_bytes(r.value()) for r in records]
    assert chunks[0].fps == 10.0  # the file's rate: one-second chunks hold 10 frames
    assert [c.frame_count for c in chunks] == [10, 10, 5]
    assert sum(c.frame_count for c in chunks) == 25
    assert [c.is_last for c in chunks][-1] and chunks[-1].total_frames == 25
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "cam")
        assert stream is not None and stream.last_frame_no == 24
        assert stream.config["messages"] == "video-chunks"


@pytest.mark.integration
def test_produce_file_sends_the_files_own_video_in_chunks_unless_told_otherwise(
    broker: BundledBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """An MP4 of MPEG-4 part 2 from OpenCV at 10 fps: one-second chunks (10 frames) are cut
    at the first key frame after that."""
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers, chunk_seconds=1.0)
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    video = write_video(tmp_path / "cam.mp4", 30, "mp4v")

    done = _cli(settings, "file", str(video), "--stream-id", "cam", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["frames"] == 30
    records = read_topic(broker.bootstrap_servers, settings.topics.video_chunks)
    chunks = [VideoChunk.from_bytes(r.value()) for r in records]
    assert len(chunks) > 1
    assert {(c.container, c.codec) for c in chunks} == {("matroska", "mpeg4")}
    assert [c.first_frame_no for c in chunks] == [0, *accumulate(c.frame_count for c in chunks)][
        :-1
    ]
    assert all(c.frame_count >= 10 for c in chunks[:-1])
    assert chunks[-1].is_last and chunks[-1].total_frames == 30
    levels = [int(f.image[24, 32].mean()) for c in chunks for f in decode_chunk(c)]
    assert levels == sorted(levels) and len(levels) == 30  # the file's frames, in order
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "cam")
        assert stream is not None and stream.last_frame_no == 29
        assert (stream.config["messages"], stream.config["encoding"]) == ("video-chunks", "copy")

    both = _cli(settings, "file", str(video), "--stream-id", "cam", "--copy", "--chunks")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr

    frames = _cli(settings, "file", str(video), "--stream-id", "jpeg-cam", "--jpeg", "--json")
    assert frames.returncode == 0, frames.stderr
    assert_sent_as_jpeg_frames(settings, sessions, "jpeg-cam", 30)


def test_produce_camera_refuses_sources_without_stream_ids(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(kafka_bootstrap_servers="127.0.0.1:1")
    done = _cli(settings, "camera", "rtsp://cam/1", "rtsp://cam/2")
    assert done.returncode == 2
    assert "write each as ID=SOURCE" in done.stderr
