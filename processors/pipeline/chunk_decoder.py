"""Decoding a ``video-chunks`` message into numbered frames."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from schemas.video_chunks import VideoChunk

__all__ = ["ChunkDecodeError", "DecodedFrame", "decode_chunk"]


class ChunkDecodeError(ValueError):
    """A chunk's payload could not be decoded as its container and codec."""


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    frame_no: int
    image: npt.NDArray[np.uint8]
    #: The job's frame count, on the last frame of a job's last chunk.
    total_frames: int | None


def decode_chunk(chunk: VideoChunk) -> Iterator[DecodedFrame]:
    """The chunk's frames in order, numbered from ``chunk.first_frame_no``.

    Raises :class:`ChunkDecodeError` if the payload does not decode, or decodes to another
    number of frames than the chunk declares (frames decoded before that are yielded).

    The frames are converted to BGR by one converter for the whole chunk, on the calling
    thread: ``frame.to_ndarray(format="bgr24")`` sets up a new converter with a pool of
    slice threads for every frame, 1.2 against 0.8 ms of CPU a 640x480 frame, for the
    same pixels.
    """
    import av
    from av.video.reformatter import VideoReformatter

    to_bgr = VideoReformatter()
    decoded = 0
    try:
        with av.open(io.BytesIO(chunk.data), mode="r", format=chunk.container) as container:
            for frame in container.decode(video=0):
                if decoded == chunk.frame_count:
                    break
                bgr = to_bgr.reformat(frame, format="bgr24", threads=1)
                image = np.asarray(bgr.to_ndarray(), dtype=np.uint8)
                last = decoded == chunk.frame_count - 1
                yield DecodedFrame(
                    chunk.first_frame_no + decoded,
                    image,
                    chunk.total_frames if last and chunk.is_last else None,
                )
                decoded += 1
    except (av.error.FFmpegError, ValueError) as exc:
        raise ChunkDecodeError(
            f"chunk {chunk.chunk_no} ({chunk.container}/{chunk.codec}, {len(chunk.data)} bytes) "
            f"does not decode after {decoded} frames: {exc}"
        ) from exc
    if decoded < chunk.frame_count:
        raise ChunkDecodeError(
            f"chunk {chunk.chunk_no} declares {chunk.frame_count} frames but holds {decoded}"
        )
