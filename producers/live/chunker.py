"""A live stream's frames into H.264 chunks, cut by capture time or size.

A file is cut by frame count at its known rate; a camera's rate drifts, throttles and
stalls, so a live chunk is closed once ``plan.seconds`` of capture time have passed since
its first frame, once its encoded size reaches ``plan.max_bytes``, or when the frame size
changes. Each chunk carries the rate measured over its own frames, from which the worker
stamps every frame's capture time. The price of chunks on a live stream is latency: a frame
leaves the producer when its chunk closes, up to ``plan.seconds`` after it was captured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from producers.chunks import ChunkPlan, ChunkWriter, EncodedChunk
from producers.frames import SourceFrame
from producers.jpeg import EncodeError

__all__ = ["LiveChunk", "LiveChunker"]


@dataclass(frozen=True, slots=True)
class LiveChunk:
    chunk: EncodedChunk
    fps: float  # measured over the chunk's frames
    last_captured_at: float


class LiveChunker:
    """Feed frames with :meth:`add`; closed chunks come back from it and from :meth:`flush`."""

    def __init__(self, plan: ChunkPlan, nominal_fps: float) -> None:
        if nominal_fps <= 0:
            raise ValueError("nominal_fps must be > 0")
        self._plan = plan
        self._nominal_fps = nominal_fps  # for the encoder, and a one-frame chunk's rate
        self._writer: ChunkWriter | None = None
        self._first_at = self._last_at = 0.0
        self._chunks = 0
        self._frames = 0

    def add(self, image: npt.NDArray[np.uint8], captured_at: float) -> list[LiveChunk]:
        """Add a frame; returns the chunks it closed (none, one, or the previous and its own).

        Raises :class:`EncodeError`, with nothing changed, for a frame too small to encode.
        """
        if min(image.shape[:2]) < 2:
            raise EncodeError(f"a {image.shape[1]}x{image.shape[0]} frame is too small for video")
        closed = []
        writer = self._writer
        if writer is not None and (
            captured_at - self._first_at >= self._plan.seconds or not writer.fits(image)
        ):
            closed.append(self._close())
        if self._writer is None:
            first = SourceFrame(self._frames, image, is_last=False, captured_at=captured_at)
            self._writer = ChunkWriter(self._chunks, first, self._nominal_fps, self._plan)
            self._chunks += 1
            self._first_at = captured_at
        self._writer.add(image)
        self._frames += 1
        self._last_at = captured_at
        if self._writer.size >= self._plan.max_bytes:
            closed.append(self._close())
        return closed

    def flush(self) -> LiveChunk | None:
        """The open chunk, closed; None if there is none."""
        return None if self._writer is None else self._close()

    def _close(self) -> LiveChunk:
        assert self._writer is not None
        chunk = self._writer.close(is_last=False)
        self._writer = None
        span = self._last_at - self._first_at
        fps = (chunk.frame_count - 1) / span if chunk.frame_count > 1 and span > 0 else 0.0
        return LiveChunk(chunk, fps or self._nominal_fps, self._last_at)
