"""Frames as producers see them, and their encoding into ``frames`` topic messages."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from producers.jpeg import EncodeError, fit_jpeg
from schemas.frames import FrameMessage

__all__ = [
    "EncodeError",
    "SourceFrame",
    "encode_frame",
    "encode_image",
    "flag_last",
    "frame_overhead",
    "with_last",
]

T = TypeVar("T")

# msgpack frames a bin payload with at most 5 bytes of header (bin32).
_BIN_HEADER_MAX = 5


@dataclass(frozen=True, slots=True)
class SourceFrame:
    """Frame ``index`` (0-based within its source) as (H, W, 3) uint8 BGR; the last is flagged.

    ``captured_at`` (seconds since the epoch) is set by live sources when the frame was read;
    finite sources leave it None and the frame is stamped when encoded. ``source`` names this
    frame's own origin when it differs from its job's (an image of a folder).
    """

    index: int
    image: npt.NDArray[np.uint8]
    is_last: bool
    captured_at: float | None = None
    source: str | None = None


def with_last(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Each item with whether it is the last, with one item of look-ahead.

    If the underlying iterator fails, the item held back is still yielded (not flagged as
    the last) before the error propagates: what was read before the damage goes out.
    """
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    while True:
        try:
            following = next(iterator)
        except StopIteration:
            yield current, True
            return
        except Exception:
            yield current, False
            raise
        yield current, False
        current = following


def flag_last(images: Iterable[npt.NDArray[np.uint8]]) -> Iterator[SourceFrame]:
    """Number the images and flag the last one, with one image of look-ahead."""
    for index, (image, last) in enumerate(with_last(images)):
        yield SourceFrame(index, image, is_last=last)


@lru_cache(maxsize=1024)
def frame_overhead(stream_id: str, source: str, job_id: str | None) -> int:
    """Bytes a frame message takes beyond its JPEG (an upper bound).

    Cached: it serializes a probe message, and every frame of a stream asks the same.
    """
    probe = FrameMessage(
        stream_id=stream_id,
        frame_no=2**62,
        captured_at=time.time(),
        source=source,
        width=2**30,
        height=2**30,
        jpeg=b"\0",
        job_id=job_id,
        total_frames=2**62,
    )
    return len(probe.to_bytes()) - 1 + _BIN_HEADER_MAX


def encode_image(
    image: npt.NDArray[np.uint8],
    *,
    stream_id: str,
    frame_no: int,
    source: str,
    jpeg_quality: int,
    max_bytes: int | None = None,
    captured_at: float | None = None,
    job_id: str | None = None,
    total_frames: int | None = None,
) -> FrameMessage:
    """The ``frames`` message of one image; with ``max_bytes`` the whole message fits in it.

    An image whose JPEG would not fit is scaled down (``width``/``height`` are the sent
    size); :class:`EncodeError` if it cannot be made to fit.
    """
    budget = None if max_bytes is None else max_bytes - frame_overhead(stream_id, source, job_id)
    if budget is not None and budget <= 0:
        raise EncodeError(f"a frame message cannot fit in {max_bytes} bytes")
    try:
        jpeg = fit_jpeg(image, quality=jpeg_quality, max_bytes=budget)
    except EncodeError as exc:
        raise EncodeError(f"frame {frame_no} of {source}: {exc}") from exc
    return FrameMessage(
        stream_id=stream_id,
        frame_no=frame_no,
        captured_at=time.time() if captured_at is None else captured_at,
        source=source,
        width=jpeg.width,
        height=jpeg.height,
        jpeg=jpeg.data,
        job_id=job_id,
        total_frames=total_frames,
    )


def encode_frame(
    frame: SourceFrame,
    *,
    stream_id: str,
    first_frame_no: int,
    source: str,
    job_id: str | None,
    jpeg_quality: int,
    max_bytes: int | None = None,
) -> FrameMessage:
    """The ``frames`` message of one frame of a job (JPEG at ``jpeg_quality``).

    Its number continues the stream from ``first_frame_no``; the last frame carries the
    job's frame count.
    """
    return encode_image(
        frame.image,
        stream_id=stream_id,
        frame_no=first_frame_no + frame.index,
        source=frame.source or source,
        jpeg_quality=jpeg_quality,
        max_bytes=max_bytes,
        captured_at=frame.captured_at,
        job_id=job_id,
        total_frames=frame.index + 1 if frame.is_last else None,
    )
