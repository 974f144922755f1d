"""Live chunks: cut by capture time (not frame count) or size, each with its measured rate."""

from __future__ import annotations

import numpy as np
import pytest

from processors.pipeline.chunk_decoder import DecodedFrame, decode_chunk
from producers.chunks import ChunkPlan, chunk_message
from producers.jpeg import EncodeError
from producers.live.chunker import LiveChunk, LiveChunker
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator


def _scene(frames: int, width: int = 160, height: int = 120) -> list[np.ndarray]:
    config = SceneConfig(width=width, height=height, num_frames=frames)
    return [f.image for f in SceneGenerator(5, config).frames()]


def _feed(chunker: LiveChunker, images: list[np.ndarray], times: list[float]) -> list[LiveChunk]:
    chunks = [c for image, t in zip(images, times, strict=True) for c in chunker.add(image, t)]
    last = chunker.flush()
    return chunks + ([last] if last is not None else [])


def test_chunks_are_cut_by_capture_time_whatever_the_rate() -> None:
    # 10 fps for 2 s, then 5 fps for 2 s, then a 3 s stall and 3 more frames.
    times = [i / 10 for i in range(20)] + [2 + i / 5 for i in range(10)] + [7.0, 7.1, 7.2]
    chunker = LiveChunker(ChunkPlan(seconds=1.0), nominal_fps=30.0)
    chunks = _feed(chunker, _scene(len(times)), times)
    assert [c.chunk.frame_count for c in chunks] == [10, 10, 5, 5, 3]
    assert [c.chunk.first_index for c in chunks] == [0, 10, 20, 25, 30]
    assert [c.chunk.number for c in chunks] == [0, 1, 2, 3, 4]
    assert [round(c.fps, 3) for c in chunks] == [10.0, 10.0, 5.0, 5.0, 10.0]
    assert [c.chunk.captured_at for c in chunks] == [0.0, 1.0, 2.0, 3.0, 7.0]
    assert chunks[-1].last_captured_at == 7.2
    assert not any(c.chunk.is_last for c in chunks)


def test_a_chunk_decodes_to_its_frames_stamped_at_the_measured_rate() -> None:
    images = _scene(12)
    times = [100 + i / 6 for i in range(12)]
    chunks = _feed(LiveChunker(ChunkPlan(seconds=1.0), nominal_fps=30.0), images, times)
    assert [c.chunk.frame_count for c in chunks] == [6, 6]
    first = 40
    decoded: list[DecodedFrame] = []
    for c in chunks:
        message = chunk_message(
            c.chunk,
            stream_id="door",
            first_frame_no=first - c.chunk.first_index,
            fps=c.fps,
            job_id=None,
        )
        first += c.chunk.frame_count
        assert (message.fps, message.job_id, message.total_frames) == (c.fps, None, None)
        decoded.extend(decode_chunk(message))
    assert [f.frame_no for f in decoded] == list(range(40, 52))


def test_chunks_are_cut_by_size_and_when_the_frame_size_changes() -> None:
    big, small = _scene(30, 320, 240), _scene(3, 160, 120)
    chunker = LiveChunker(ChunkPlan(seconds=60.0, max_bytes=16 * 1024), nominal_fps=15.0)
    chunks = _feed(chunker, big + small, [i / 15 for i in range(33)])
    sizes = [c.chunk.frame_count for c in chunks]
    assert len(chunks) >= 3 and sum(sizes) == 33 and sizes[-1] == 3
    # a chunk is closed right after the frame that took it over the limit
    assert all(len(c.chunk.data) < 16 * 1024 + 12_000 for c in chunks)


def test_a_frame_too_small_is_refused_without_losing_the_open_chunk() -> None:
    chunker = LiveChunker(ChunkPlan(seconds=10.0), nominal_fps=15.0)
    images = _scene(3)
    for i, image in enumerate(images):
        assert chunker.add(image, i / 15) == []
    with pytest.raises(EncodeError, match="too small"):
        chunker.add(np.zeros((1, 64, 3), np.uint8), 0.3)
    last = chunker.flush()
    assert last is not None and last.chunk.frame_count == 3


def test_flush_without_frames_gives_nothing_and_bad_rates_are_refused() -> None:
    assert LiveChunker(ChunkPlan(), nominal_fps=15.0).flush() is None
    with pytest.raises(ValueError):
        LiveChunker(ChunkPlan(), nominal_fps=0.0)
