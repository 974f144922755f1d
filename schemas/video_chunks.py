"""Topic ``video-chunks``: an encoded piece of a video, cut by size and time."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.codec import WireModel

__all__ = ["VideoChunk"]


class VideoChunk(WireModel):
    """A self-contained encoded chunk (e.g. MPEG-TS or fragmented MP4 segment).

    Decoded frames are numbered ``first_frame_no, first_frame_no + 1, ...`` so numbering
    stays continuous across chunks of a stream.
    """

    kind: ClassVar[str] = "video_chunk"
    version: ClassVar[int] = 1

    stream_id: str = Field(min_length=1, max_length=128)
    chunk_no: int = Field(ge=0)
    first_frame_no: int = Field(ge=0)
    frame_count: int = Field(ge=0)
    container: str = Field(description="container format, e.g. 'mpegts' or 'mp4'")
    codec: str
    fps: float = Field(gt=0)
    captured_at: float
    data: bytes = Field(min_length=1)
    job_id: str | None = None
    is_last: bool = False
    # Set on the last chunk of a finite source: the number of frames of that job.
    total_frames: int | None = Field(default=None, ge=0)
