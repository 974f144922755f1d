"""Frames as producers see them, and their encoding into ``frames`` topic messages."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from schemas.frames import FrameMessage

__all__ = ["EncodeError", "SourceFrame", "encode_frame", "flag_last"]


class EncodeError(RuntimeError):
    """A frame could not be JPEG-encoded."""


@dataclass(frozen=True, slots=True)
class SourceFrame:
    """Frame ``index`` (0-based within its source) as (H, W, 3) uint8 BGR; the last is flagged."""

    index: int
    image: npt.NDArray[np.uint8]
    is_last: bool


def flag_last(images: Iterable[npt.NDArray[np.uint8]]) -> Iterator[SourceFrame]:
    """Number the images and flag the last one, with one image of look-ahead."""
    iterator = iter(images)
    try:
        current = next(iterator)
    except StopIteration:
        return
    index = 0
    for following in iterator:
        yield SourceFrame(index, current, is_last=False)
        current, index = following, index + 1
    yield SourceFrame(index, current, is_last=True)


def encode_frame(
    frame: SourceFrame,
    *,
    stream_id: str,
    first_frame_no: int,
    source: str,
    job_id: str | None,
    jpeg_quality: int,
) -> FrameMessage:
    """The ``frames`` message of one source frame (JPEG at ``jpeg_quality``)."""
    ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise EncodeError(f"JPEG encoding failed at frame {frame.index} of {source}")
    height, width = frame.image.shape[:2]
    return FrameMessage(
        stream_id=stream_id,
        frame_no=first_frame_no + frame.index,
        captured_at=time.time(),
        source=source,
        width=width,
        height=height,
        jpeg=jpeg.tobytes(),
        job_id=job_id,
        total_frames=frame.index + 1 if frame.is_last else None,
    )
