"""Topic ``frames``: one JPEG-encoded frame of a stream, keyed by stream id."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.codec import WireModel

__all__ = ["FrameMessage"]


class FrameMessage(WireModel):
    """A frame. ``frame_no`` is unique and increasing for the life of a stream.

    ``total_frames`` is set on the last frame of a finite source (a file): the number of
    frames of that job, so consumers know when the job is complete.
    """

    kind: ClassVar[str] = "frame"
    version: ClassVar[int] = 1

    stream_id: str = Field(min_length=1, max_length=128)
    frame_no: int = Field(ge=0)
    captured_at: float = Field(description="capture time, seconds since the epoch (UTC)")
    source: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    jpeg: bytes = Field(min_length=1)
    job_id: str | None = None
    total_frames: int | None = Field(default=None, ge=0)
