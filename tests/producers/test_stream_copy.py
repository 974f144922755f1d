"""Stream copy: a file's own packets cut at safe key frames into chunks that decode alone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from processors.pipeline.chunk_decoder import decode_chunk
from producers.chunks import chunk_message
from producers.stream_copy import (
    COPY_CONTAINER,
    CopyRefusedError,
    CopySource,
    PacketInfo,
    frames_in,
    plan_cuts,
)
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator
from producers.video_file import read_video
from tests.producers.test_video_file import truncate, write_video
from visiontrack.samples import bikes_video

P = PacketInfo
# An open group: the B-frames after the second key frame are shown before it.
OPEN_GOP = [
    P(True, 2, 10),
    P(False, 0, 10),
    P(False, 1, 10),
    P(True, 5, 10),
    P(False, 3, 10),
    P(False, 4, 10),
]


def _gops(count: int, gop: int, size: int = 10) -> list[PacketInfo]:
    """``count`` packets without reordering, a key frame every ``gop``."""
    return [P(i % gop == 0, i, size) for i in range(count)]


@pytest.mark.parametrize(
    ("packets", "per_chunk", "max_bytes", "starts"),
    [
        pytest.param(_gops(23, 5), 4, 1000, [0, 5, 10, 15, 20], id="first-key-frame-past-length"),
        pytest.param(_gops(23, 5), 6, 1000, [0, 10, 20], id="key-frames-skipped-until-long"),
        pytest.param(_gops(23, 5), 100, 1000, [0], id="one-chunk"),
        pytest.param(_gops(23, 5), 8, 75, [0, 5, 10, 15, 20], id="cut-early-to-fit"),
        pytest.param(_gops(1, 5), 4, 10, [0], id="one-packet"),
        # Closed groups with B-frames (decode order I P B B | I P B B): cuts at each I.
        pytest.param(
            [P(k == 1, t, 10) for k, t in [(1, 0), (0, 3), (0, 1), (0, 2)]]
            + [P(k == 1, t, 10) for k, t in [(1, 4), (0, 7), (0, 5), (0, 6)]],
            2,
            1000,
            [0, 4],
            id="closed-gop-b-frames",
        ),
        pytest.param(
            OPEN_GOP,
            2,
            1000,
            [0],
            id="open-gop-not-cut",
        ),
    ],
)
def test_cuts(packets: list[PacketInfo], per_chunk: int, max_bytes: int, starts: list[int]) -> None:
    assert plan_cuts(packets, per_chunk, max_bytes) == starts


@pytest.mark.parametrize(
    ("packets", "max_bytes", "reason"),
    [
        pytest.param([], 1000, "no packets", id="empty"),
        pytest.param([P(False, 0, 10), *_gops(5, 5)], 1000, "key frame", id="no-key-first"),
        pytest.param([P(True, 0, 10), P(False, None, 10)], 1000, "packet 1", id="no-pts"),
        pytest.param(_gops(10, 5), 45, "packets 0..4", id="group-too-big"),
        pytest.param([P(True, 0, 50), *_gops(5, 1)[1:]], 45, "packet 0", id="first-too-big"),
        # The only later key frame opens an open group: nowhere to cut within the limit.
        pytest.param(
            OPEN_GOP,
            45,
            "without a key frame",
            id="open-gop-too-big",
        ),
    ],
)
def test_refusals_say_why(packets: list[PacketInfo], max_bytes: int, reason: str) -> None:
    with pytest.raises(CopyRefusedError, match=reason):
        plan_cuts(packets, 4, max_bytes)


def _scene_video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (320, 240))
    config = SceneConfig(width=320, height=240, num_frames=frames)
    for frame in SceneGenerator(5, config).frames():
        writer.write(frame.image)
    writer.release()
    return path


@pytest.mark.parametrize("video", ["mp4v", "bikes"])
def test_copied_chunks_decode_alone_into_the_files_frames(tmp_path: Path, video: str) -> None:
    """MPEG-4 part 2 from OpenCV (a key frame every 12), and bikes.mp4: H.264 with B-frames
    and key frames where the scene changes."""
    path = _scene_video(tmp_path / "scene.mp4", 60) if video == "mp4v" else bikes_video()
    copy = CopySource.probe(path, seconds=2.0, max_bytes=2 * 1024 * 1024)
    expected = [f.image for f in read_video(path)]
    assert copy.packets == len(expected)
    assert copy.codec == {"mp4v": "mpeg4", "bikes": "h264"}[video]
    assert copy.fps == {"mp4v": 10.0, "bikes": 25.0}[video]  # as the file announces it

    chunks = list(copy.chunks())
    assert len(chunks) > 2
    assert [c.first_index for c in chunks] == list(copy.starts)
    # 2 s at the file's rate, cut at a key frame
    assert all(c.frame_count >= 2 * copy.fps for c in chunks[:-1])
    assert [c.is_last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    messages = [
        chunk_message(
            c,
            stream_id="cam",
            first_frame_no=100,
            fps=copy.fps,
            job_id="j",
            container=COPY_CONTAINER,
            codec=copy.codec,
        )
        for c in chunks
    ]
    # Every chunk decodes on its own, in any order, to the frames OpenCV reads from the file.
    decoded = sorted(
        (f for m in reversed(messages) for f in decode_chunk(m)), key=lambda f: f.frame_no
    )
    assert [f.frame_no for f in decoded] == list(range(100, 100 + len(expected)))
    assert [f.total_frames for f in decoded if f.total_frames is not None] == [len(expected)]
    for want, got in zip(expected, decoded, strict=True):
        # The same decoder; only the conversion to BGR may round differently.
        assert np.abs(want.astype(np.int16) - got.image).mean() < 2.0


def test_a_file_without_video_or_not_a_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(CopyRefusedError, match=r"junk\.mp4"):
        CopySource.probe(junk, seconds=2.0, max_bytes=2 * 1024 * 1024)


@pytest.mark.parametrize(("name", "fourcc"), [("cut.avi", "MJPG"), ("cut.mkv", "MJPG")])
def test_a_truncated_file_is_refused_not_copied_short(
    tmp_path: Path, name: str, fourcc: str
) -> None:
    """Cut in half, an AVI (a frame count in its header) and a Matroska file (a duration
    only) still demux, into 10 and 20 of their 40 frames."""
    path = write_video(tmp_path / name, 40, fourcc)
    assert CopySource.probe(path, seconds=2.0, max_bytes=2 * 1024 * 1024).packets == 40
    truncate(path, 0.5)
    with pytest.raises(CopyRefusedError, match=r"of the 40 frames it announces: the file is trunc"):
        CopySource.probe(path, seconds=2.0, max_bytes=2 * 1024 * 1024)


@pytest.mark.parametrize(
    ("duration_us", "fps", "frames"),
    [(4_000_000, 10.0, 40), (10_000_000, 25.0, 250), (1_001_000, 29.97, 30), (None, 25.0, None)],
)
def test_frames_in_a_duration(duration_us: int | None, fps: float, frames: int | None) -> None:
    assert frames_in(duration_us, fps) == frames
