"""Video files: every frame in order; a damaged file fails clearly after its good frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from producers.video_file import (
    DEFAULT_FPS,
    SourceError,
    plausible_fps,
    read_video,
    video_fps,
    video_frame_count,
)
from visiontrack.samples import bikes_video


def write_video(path: Path, frames: int, fourcc: str = "MJPG") -> Path:
    """Frame i is filled with gray level 4 * i, so frames can be told apart after decoding."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 10.0, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 4 * i, np.uint8))
    writer.release()
    return path


def truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.mark.parametrize(("name", "fourcc"), [("v.avi", "MJPG"), ("v.mp4", "mp4v")])
def test_all_frames_in_order_and_only_the_last_flagged(
    tmp_path: Path, name: str, fourcc: str
) -> None:
    path = write_video(tmp_path / name, 20, fourcc)
    frames = list(read_video(path))
    assert video_frame_count(path) == 20
    assert [f.index for f in frames] == list(range(20))
    assert [f.is_last for f in frames] == [False] * 19 + [True]
    levels = [int(f.image[24, 32].mean()) for f in frames]
    assert levels == sorted(levels) and levels[-1] > levels[0]


def test_a_truncated_video_fails_after_the_frames_before_the_damage(tmp_path: Path) -> None:
    path = truncate(write_video(tmp_path / "cut.avi", 40), 0.5)
    received = []
    with pytest.raises(SourceError, match=r"ended after \d+ of the 40 frames.*truncated"):
        for frame in read_video(path):
            received.append(frame)
    assert 5 <= len(received) < 40
    assert [f.index for f in received] == list(range(len(received)))
    assert not any(f.is_last for f in received)


def test_a_truncated_mp4_that_lost_its_index_cannot_be_opened(tmp_path: Path) -> None:
    path = truncate(write_video(tmp_path / "cut.mp4", 20, "mp4v"), 0.6)
    with pytest.raises(SourceError, match=r"cannot open video .*truncated or corrupt"):
        list(read_video(path))


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_a_file_that_is_not_a_video_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=r"fake\.mp4"):
        list(read_video(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such video file"):
        list(read_video(tmp_path / "absent.mp4"))


def test_the_frame_rate_is_the_files_own() -> None:
    assert video_fps(bikes_video()) == 25.0


@pytest.mark.parametrize(
    ("announced", "rate"),
    [
        (29.97, 29.97),
        (10.0, 10.0),
        (None, DEFAULT_FPS),
        (0.0, DEFAULT_FPS),
        (float("nan"), DEFAULT_FPS),
        (90000.0, DEFAULT_FPS),
    ],
)
def test_a_rate_no_video_has_falls_back_to_the_default(
    announced: float | None, rate: float
) -> None:
    assert plausible_fps(announced) == rate
