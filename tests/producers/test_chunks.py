"""Video chunks: cut by time and size, self-contained, decoded with continuous numbers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from processors.pipeline.chunk_decoder import ChunkDecodeError, decode_chunk
from producers.chunks import ChunkPlan, EncodedChunk, chunk_message, encode_chunks
from producers.frames import SourceFrame, flag_last
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator
from schemas.video_chunks import VideoChunk

FPS = 15.0


def _scene(frames: int) -> list[np.ndarray]:
    config = SceneConfig(width=320, height=240, num_frames=frames)
    return [f.image for f in SceneGenerator(11, config).frames()]


def _messages(chunks: list[EncodedChunk], first_frame_no: int) -> list[VideoChunk]:
    return [
        chunk_message(c, stream_id="cam", first_frame_no=first_frame_no, fps=FPS, job_id="j")
        for c in chunks
    ]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float(10.0 * np.log10(255.0**2 / mse))


def test_chunks_are_cut_by_time_and_decode_with_continuous_numbers() -> None:
    images = _scene(70)
    chunks = list(encode_chunks(flag_last(images), FPS, ChunkPlan(seconds=2.0)))
    assert [(c.number, c.first_index, c.frame_count) for c in chunks] == [
        (0, 0, 30),
        (1, 30, 30),
        (2, 60, 10),
    ]
    assert [c.is_last for c in chunks] == [False, False, True]
    messages = _messages(chunks, first_frame_no=500)
    assert [m.total_frames for m in messages] == [None, None, 70]
    # Every chunk decodes on its own, in any order.
    decoded = [f for m in reversed(messages) for f in decode_chunk(m)]
    decoded.sort(key=lambda f: f.frame_no)
    assert [f.frame_no for f in decoded] == list(range(500, 570))
    assert [f.total_frames for f in decoded if f.total_frames is not None] == [70]
    assert min(_psnr(a, f.image) for a, f in zip(images, decoded, strict=True)) > 28.0


def test_chunks_are_cut_by_size() -> None:
    images = _scene(40)
    plan = ChunkPlan(seconds=10.0, max_bytes=16 * 1024)
    chunks = list(encode_chunks(flag_last(images), FPS, plan))
    assert len(chunks) > 2
    assert sum(c.frame_count for c in chunks) == 40
    assert [c.first_index for c in chunks] == list(
        np.cumsum([0] + [c.frame_count for c in chunks[:-1]])
    )
    # A chunk closes once it reaches the size: only its last frame may take it past.
    for chunk in chunks[:-1]:
        assert len(chunk.data) >= plan.max_bytes


def test_a_new_frame_size_starts_a_new_chunk() -> None:
    small, large = _scene(4), [np.zeros((120, 160, 3), np.uint8)] * 3
    chunks = list(encode_chunks(flag_last(small + large), FPS, ChunkPlan()))
    assert [(c.first_index, c.frame_count) for c in chunks] == [(0, 4), (4, 3)]
    decoded = [f.image.shape for m in _messages(chunks, 0) for f in decode_chunk(m)]
    assert decoded == [(240, 320, 3)] * 4 + [(120, 160, 3)] * 3


def test_a_failing_source_sends_the_frames_before_the_damage() -> None:
    images = _scene(5)

    def damaged() -> Iterator[SourceFrame]:
        for i, image in enumerate(images):
            yield SourceFrame(i, image, is_last=False)
        raise OSError("read error at frame 5")

    chunks: list[EncodedChunk] = []
    with pytest.raises(OSError, match="frame 5"):
        for chunk in encode_chunks(damaged(), FPS, ChunkPlan()):
            chunks.append(chunk)
    assert [(c.first_index, c.frame_count, c.is_last) for c in chunks] == [(0, 5, False)]


def test_bad_chunks_raise_a_clear_error() -> None:
    chunk = next(encode_chunks(flag_last(_scene(6)), FPS, ChunkPlan()))
    message = _messages([chunk], 0)[0]
    garbage = message.model_copy(update={"data": b"\x47" + bytes(range(256)) * 8})
    with pytest.raises(ChunkDecodeError, match="chunk 0"):
        list(decode_chunk(garbage))
    # Declaring more frames than the chunk holds: the frames it has come first.
    overclaimed = message.model_copy(update={"frame_count": 9})
    got: list[int] = []
    with pytest.raises(ChunkDecodeError, match="declares 9 frames but holds 6"):
        for frame in decode_chunk(overclaimed):
            got.append(frame.frame_no)
    assert got == list(range(6))
