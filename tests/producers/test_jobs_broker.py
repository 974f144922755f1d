"""Finite sources through the real broker: files, damaged files, image folders."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from infra.broker import BundledBroker
from processors.pipeline.frame_processor import decode_jpeg
from producers.jobs import FileEncoding, publish_file, publish_images
from producers.video_file import SourceError
from tests.producers.broker_helpers import (
    assert_sent_as_jpeg_frames,
    by_stream,
    frame_reader,
    prepared,
)
from tests.producers.test_video_file import truncate, write_video
from visiontrack import repository
from visiontrack.db import session_scope
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration


def test_files_on_two_streams_publish_exactly_their_frames_in_order(
    broker: BundledBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Two jobs at once in one process, like the demo: each stream complete and ordered."""
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    videos = {
        "left": write_video(tmp_path / "l.avi", 30),
        "right": write_video(tmp_path / "r.avi", 45),
    }
    results = {}

    def publish(stream_id: str) -> None:
        results[stream_id] = publish_file(
            settings,
            broker.bootstrap_servers,
            sessions,
            path=videos[stream_id],
            stream_id=stream_id,
            encoding=FileEncoding.JPEG,
        )

    threads = [threading.Thread(target=publish, args=(s,)) for s in videos]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert {s: r.frames for s, r in results.items()} == {"left": 30, "right": 45}

    with frame_reader(broker.bootstrap_servers, settings.topics.frames) as reader:
        frames = reader.read_until(lambda fs: len(fs) >= 75)
        frames = reader.read_quiet(2.0)  # and nothing more
    for stream_id, count in (("left", 30), ("right", 45)):
        mine = by_stream(frames, stream_id)
        assert [f.frame_no for f in mine] == list(range(count))
        assert [f.total_frames for f in mine] == [None] * (count - 1) + [count]
        assert {f.job_id for f in mine} == {results[stream_id].job_id}
        assert all((f.width, f.height) == (64, 48) for f in mine)
        levels = [int(decode_jpeg(f.jpeg)[24, 32].mean()) for f in mine]
        assert levels == sorted(levels)  # the video's own order
    with session_scope(sessions) as s:
        job = repository.get_job(s, results["right"].job_id)
        assert job is not None and (job.frames_published, job.total_frames) == (45, 45)


def test_a_truncated_video_publishes_its_good_frames_then_fails_the_job(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    damaged = truncate(write_video(tmp_path / "cut.avi", 40), 0.5)
    intact_frames = sum(1 for _ in _readable(damaged))

    # Copied by default: an AVI cut in half demuxes into fewer packets without an error, so
    # the copy is refused for the frames the file announces, and its frames fail the job.
    with caplog.at_level(logging.WARNING), pytest.raises(SourceError, match="truncated"):
        publish_file(settings, broker.bootstrap_servers, sessions, path=damaged, stream_id="cut")
    said = [(getattr(r, "stream_id", None), r.getMessage()) for r in caplog.records]
    assert any(s == "cut" and "holds 10 of the 40 frames it announces" in m for s, m in said)
    assert any(s == "cut" and "publishing failed" in m for s, m in said)

    with frame_reader(broker.bootstrap_servers, settings.topics.frames) as reader:
        frames = reader.read_until(lambda fs: len(fs) >= intact_frames)
        frames = reader.read_quiet(2.0)
    assert [f.frame_no for f in frames] == list(range(intact_frames))
    assert all(f.total_frames is None for f in frames)  # the job is not complete
    with session_scope(sessions) as s:
        job = repository.get_job(s, frames[0].job_id or "")
        assert job is not None
        assert job.state == "failed" and "truncated" in (job.error or "")
        assert job.frames_published == intact_frames

    # The stream goes on: the next job continues after the frames already sent.
    result = publish_file(
        settings,
        broker.bootstrap_servers,
        sessions,
        path=write_video(tmp_path / "ok.avi", 3),
        stream_id="cut",
    )
    assert result.first_frame_no == intact_frames


def _readable(path: Path) -> list[int]:
    capture = cv2.VideoCapture(str(path))
    count = []
    while capture.read()[0]:
        count.append(1)
    capture.release()
    return count


def test_an_image_folder_skips_and_names_a_file_that_is_not_an_image(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers, frame_max_bytes=64 * 1024
    )
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    folder = tmp_path / "shots"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in (1, 2, 10):
        cv2.imwrite(str(folder / f"shot{i}.png"), np.full((40, 50, 3), 20 * i, np.uint8))
    (folder / "shot3.jpg").write_bytes(b"<html>an error page saved as .jpg</html>")
    # 1000x800 of noise is several hundred KB as JPEG: over the 64 KiB frame limit.
    cv2.imwrite(str(folder / "shot4.png"), rng.integers(0, 256, (800, 1000, 3), np.uint8))

    with caplog.at_level(logging.WARNING):
        result = publish_images(
            settings, broker.bootstrap_servers, sessions, spec=str(folder), stream_id="shots"
        )
    assert result.frames == 4
    skipped = [r for r in caplog.records if "shot3.jpg" in r.getMessage()]
    assert skipped and getattr(skipped[0], "stream_id", None) == "shots"

    with frame_reader(broker.bootstrap_servers, settings.topics.frames) as reader:
        frames = reader.read_until(lambda fs: len(fs) >= 4)
        frames = reader.read_quiet(2.0)
    assert [Path(f.source).name for f in frames] == [
        "shot1.png",
        "shot2.png",
        "shot4.png",
        "shot10.png",
    ]
    assert [f.frame_no for f in frames] == [0, 1, 2, 3]
    assert frames[-1].total_frames == 4
    big = frames[2]
    assert len(big.to_bytes()) <= 64 * 1024  # never sent oversize
    assert big.width < 1000 and big.height < 800  # scaled down to fit


def test_a_video_that_cannot_be_copied_goes_out_as_jpeg_frames_with_the_reason_logged(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Camera noise at 320x240 makes every key frame larger than the smallest chunk."""
    settings = make_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers, chunk_max_bytes=16 * 1024
    )
    sessions = prepared(settings, broker.bootstrap_servers, settings.data_dir)
    noisy = tmp_path / "noisy.mp4"
    writer = cv2.VideoWriter(str(noisy), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (320, 240))
    rng = np.random.default_rng(3)
    for _ in range(12):
        writer.write(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    writer.release()

    with caplog.at_level(logging.WARNING, logger="producers.jobs"):
        result = publish_file(
            settings,
            broker.bootstrap_servers,
            sessions,
            path=noisy,
            stream_id="noisy",
            encoding=FileEncoding.COPY,
        )
    assert result.frames == 12
    refusal = [r for r in caplog.records if "cannot be copied" in r.getMessage()]
    assert len(refusal) == 1 and "16384 bytes" in refusal[0].getMessage()
    assert getattr(refusal[0], "stream_id", None) == "noisy"
    assert_sent_as_jpeg_frames(settings, sessions, "noisy", 12)
