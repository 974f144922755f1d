"""Topic ``tracks``: the tracked objects of one frame, keyed by stream id."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.codec import WireModel

__all__ = ["DetectedObject", "FrameTracks", "TrackedObject"]


class TrackedObject(BaseModel):
    """One confirmed track in a frame; the box is xyxy in pixels of the source frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    track_id: int = Field(ge=0)
    class_id: int = Field(ge=0)
    class_name: str
    confidence: float = Field(ge=0.0, le=1.0)
    x1: float
    y1: float
    x2: float
    y2: float


class DetectedObject(BaseModel):
    """One raw detection before tracking; the box is xyxy in pixels of the source frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_id: int = Field(ge=0)
    confidence: float = Field(ge=0.0, le=1.0)
    x1: float
    y1: float
    x2: float
    y2: float


class FrameTracks(WireModel):
    """Detection and tracking result of one frame."""

    kind: ClassVar[str] = "frame_tracks"
    version: ClassVar[int] = 1

    stream_id: str = Field(min_length=1, max_length=128)
    frame_no: int = Field(ge=0)
    captured_at: float
    processed_at: float
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    detections: tuple[DetectedObject, ...] = Field(default=(), description="before tracking")
    tracks: tuple[TrackedObject, ...] = ()
    job_id: str | None = None
    total_frames: int | None = Field(default=None, ge=0)
    detect_ms: float = 0.0
    track_ms: float = 0.0
