"""Frames into self-contained H.264/MPEG-TS chunks for the ``video-chunks`` topic.

Each chunk is a container of its own, opened by a fresh encoder, so it starts with a key
frame and decodes without the chunks before it. A chunk is closed when it holds
``ChunkPlan.seconds`` of video or its encoded size reaches ``ChunkPlan.max_bytes``,
whichever comes first. The encoder runs with zero latency (no look-ahead), so a chunk's
size is known after every frame.

JPEG frames cost every frame in full; a chunk stores what changes between frames, several
times smaller on the wire for a fixed camera, at the price of encoding work in the producer
and decoding work in the worker, and of latency up to the chunk length.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

from producers.frames import SourceFrame
from producers.jpeg import EncodeError
from schemas.video_chunks import VideoChunk

__all__ = [
    "CODEC",
    "CONTAINER",
    "ChunkPlan",
    "ChunkWriter",
    "EncodedChunk",
    "chunk_message",
    "encode_chunks",
]

CONTAINER: Final = "mpegts"
CODEC: Final = "h264"


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """Where chunks are cut and how they are encoded (x264 constant rate factor, preset)."""

    seconds: float = 2.0
    max_bytes: int = 2 * 1024 * 1024
    crf: int = 23
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.max_bytes < 16 * 1024 or not 0 <= self.crf <= 51:
            raise ValueError("chunk seconds must be > 0, max_bytes >= 16 KiB, crf in 0..51")


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    """Chunk ``number`` (0-based) of a source: its frames ``first_index ..
    first_index + frame_count - 1``, encoded."""

    number: int
    data: bytes
    first_index: int
    frame_count: int
    captured_at: float
    is_last: bool


def _even(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """4:2:0 chroma needs even sides: an odd last row or column is dropped."""
    h, w = image.shape[:2]
    return image[: h - h % 2, : w - w % 2]


class ChunkWriter:
    """One chunk being written: an MPEG-TS container in memory around an x264 encoder."""

    def __init__(self, number: int, first: SourceFrame, fps: float, plan: ChunkPlan) -> None:
        import av

        self.number = number
        self.first_index = first.index
        self.captured_at = time.time() if first.captured_at is None else first.captured_at
        self.frames = 0
        self._buffer = io.BytesIO()
        self._container = av.open(self._buffer, mode="w", format=CONTAINER)
        h, w = _even(first.image).shape[:2]
        if h == 0 or w == 0:
            raise EncodeError(f"frame {first.index} is too small to encode as video")
        rate = Fraction(fps).limit_denominator(1001)
        stream = self._container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": plan.preset, "tune": "zerolatency", "crf": str(plan.crf)}
        self._stream = stream
        self._size = (w, h)

    @property
    def size(self) -> int:
        return self._buffer.tell()

    def fits(self, image: npt.NDArray[np.uint8]) -> bool:
        h, w = _even(image).shape[:2]
        return (w, h) == self._size

    def add(self, image: npt.NDArray[np.uint8]) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(_even(image)), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self, is_last: bool) -> EncodedChunk:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        return EncodedChunk(
            self.number,
            self._buffer.getvalue(),
            self.first_index,
            self.frames,
            self.captured_at,
            is_last,
        )


def encode_chunks(
    frames: Iterable[SourceFrame], fps: float, plan: ChunkPlan
) -> Iterator[EncodedChunk]:
    """Chunks of consecutive ``frames`` (indices must be consecutive), in order.

    A frame whose size differs from the chunk's starts a new chunk. If ``frames`` fails
    part-way, the chunk holding the frames read so far is yielded before the error
    propagates: what came before the damage goes out.
    """
    if fps <= 0:
        raise ValueError("fps must be > 0")
    per_chunk = max(1, round(plan.seconds * fps))
    writer: ChunkWriter | None = None
    number = 0
    iterator = iter(frames)
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            break
        except Exception:
            if writer is not None and writer.frames:
                yield writer.close(is_last=False)
            raise
        if writer is not None and not writer.fits(frame.image):
            yield writer.close(is_last=False)
            writer = None
        if writer is None:
            writer = ChunkWriter(number, frame, fps, plan)
            number += 1
        writer.add(frame.image)
        if frame.is_last:
            yield writer.close(is_last=True)
            writer = None
        elif writer.frames >= per_chunk or writer.size >= plan.max_bytes:
            yield writer.close(is_last=False)
            writer = None
    if writer is not None and writer.frames:
        yield writer.close(is_last=False)


def chunk_message(
    chunk: EncodedChunk,
    *,
    stream_id: str,
    first_frame_no: int,
    fps: float,
    job_id: str | None,
    container: str = CONTAINER,
    codec: str = CODEC,
) -> VideoChunk:
    """The ``video-chunks`` message of ``chunk`` (``container`` and ``codec`` as this
    module encodes, unless given); numbers continue the stream from ``first_frame_no``, and
    the job's last chunk carries the job's frame count."""
    return VideoChunk(
        stream_id=stream_id,
        chunk_no=chunk.number,
        first_frame_no=first_frame_no + chunk.first_index,
        frame_count=chunk.frame_count,
        container=container,
        codec=codec,
        fps=fps,
        captured_at=chunk.captured_at,
        data=chunk.data,
        job_id=job_id,
        is_last=chunk.is_last,
        total_frames=chunk.first_index + chunk.frame_count if chunk.is_last else None,
    )
