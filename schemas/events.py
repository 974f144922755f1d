"""Topic ``events``: the analytics events (line crossings, zone enters and exits) of a frame."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.codec import WireModel

__all__ = ["FrameEvents", "StreamEvent"]


class StreamEvent(BaseModel):
    """One event. ``direction`` is set for line crossings (``in`` is left to right of the
    line drawn start to end); ``dwell_s`` and ``reason`` (``left`` or ``lost``) for exits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["line_cross", "zone_enter", "zone_exit"]
    rule_id: str
    track_id: int = Field(ge=0)
    class_name: str
    direction: Literal["in", "out"] | None = None
    dwell_s: float | None = Field(default=None, ge=0.0)
    reason: str | None = None


class FrameEvents(WireModel):
    """The events one frame of a stream gave, keyed by stream id."""

    kind: ClassVar[str] = "frame_events"
    version: ClassVar[int] = 1

    stream_id: str = Field(min_length=1, max_length=128)
    frame_no: int = Field(ge=0)
    captured_at: float
    events: tuple[StreamEvent, ...]
