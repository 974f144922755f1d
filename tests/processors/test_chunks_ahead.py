"""A take's chunks decoded one ahead of the models thread, in order, at most two at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from processors.pipeline.frame_processor import ChunksAhead, decode_chunk_frames
from producers.chunks import ChunkPlan, chunk_message, encode_chunks
from producers.frames import flag_last
from schemas.video_chunks import VideoChunk


class _RecordingPool(ThreadPoolExecutor):
    """A one-thread pool that records which chunk each submitted decode was for."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        chunk = args[0]
        assert isinstance(chunk, VideoChunk)
        self.submitted.append(chunk.chunk_no)
        return super().submit(fn, *args, **kwargs)


def _chunks(frames: int) -> list[VideoChunk]:
    images = [np.full((48, 64, 3), 6 * i, np.uint8) for i in range(frames)]
    encoded = encode_chunks(flag_last(images), 10.0, ChunkPlan(seconds=1.0))
    return [
        chunk_message(c, stream_id="cam", first_frame_no=0, fps=10.0, job_id=None) for c in encoded
    ]


def test_each_chunk_is_decoded_one_ahead_and_handed_over_in_order() -> None:
    chunks = _chunks(40)  # 4 chunks of 10 frames
    with _RecordingPool() as pool:
        ahead = ChunksAhead(pool, [(c, -1) for c in chunks])
        assert pool.submitted == [0]  # the first starts at once
        taken = []
        for i in range(len(chunks)):
            taken.append(ahead.take(i))
            assert pool.submitted == list(range(min(i + 2, len(chunks))))
    assert [f.frame_no for d in taken for f in d.frames] == list(range(40))
    assert all(d.error is None for d in taken)


def test_frames_already_applied_are_left_out() -> None:
    chunk = _chunks(10)[0]
    decoded = decode_chunk_frames(chunk, after=6)
    assert [f.frame_no for f in decoded.frames] == [7, 8, 9]
    assert decoded.frames[-1].total_frames == 10


def test_a_damaged_chunk_keeps_its_error_beside_nothing_decoded() -> None:
    damaged = _chunks(10)[0].model_copy(update={"data": b"not a video"})
    with ThreadPoolExecutor(1) as pool:
        decoded = ChunksAhead(pool, [(damaged, -1)]).take(0)
    assert decoded.frames == []
    assert decoded.error is not None and "chunk 0" in str(decoded.error)
