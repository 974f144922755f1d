"""Response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from processors.analytics.geometry import Anchor
from schemas.jobs import JobState

__all__ = [
    "HealthOut",
    "JobOut",
    "LineRuleOut",
    "StreamOut",
    "StreamRulesOut",
    "StreamSummaryOut",
    "ZoneRuleOut",
]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    stream_id: str
    kind: str
    source: str
    state: JobState
    first_frame_no: int
    total_frames: int | None
    frames_published: int
    frames_processed: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class StreamOut(BaseModel):
    """A registered stream: its source and settings, and for live sources the figures its
    producer last stored (state, publishing fps, frames dropped, reconnects)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    source: str
    config: dict[str, Any]
    last_frame_no: int
    created_at: datetime
    last_seen_at: datetime | None
    state: str | None
    fps: float | None
    frames_dropped: int
    reconnects: int
    last_error: str | None
    status_at: datetime | None
    has_rules: bool
    rules_updated_at: datetime | None


class LineRuleOut(BaseModel):
    """A directed counting line from ``start`` to ``end``, in source-frame pixels.

    Looking along start→end in image coordinates (y down), a track whose anchor point moves
    from the left side to the right side counts as "in", right to left as "out"; draw the
    line end→start to swap them. Jitter within ``margin_px`` of the line never counts.
    ``classes`` limits the line to those class names (null: every class).
    """

    id: str
    name: str
    start: tuple[float, float]
    end: tuple[float, float]
    margin_px: float
    anchor: Anchor
    classes: list[str] | None


class ZoneRuleOut(BaseModel):
    """A polygon zone in source-frame pixels: at least 3 points, non-zero area.

    A track enters on its ``min_frames_in``-th consecutive observation inside and exits on
    its ``min_frames_out``-th outside, so boxes flickering on the border make no events.
    ``classes`` limits the zone to those class names (null: every class).
    """

    id: str
    name: str
    polygon: list[tuple[float, float]]
    anchor: Anchor
    classes: list[str] | None
    min_frames_in: int
    min_frames_out: int


class StreamRulesOut(BaseModel):
    """A stream's analytics rules; rule ids are unique across lines and zones."""

    lines: list[LineRuleOut]
    zones: list[ZoneRuleOut]


class StreamSummaryOut(BaseModel):
    stream_id: str
    frames: int
    tracks: int
    class_counts: dict[str, int]


class HealthOut(BaseModel):
    status: str
    database: bool
    analytics: bool
    sink: str
    frames_written: int
