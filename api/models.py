"""Response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.jobs import JobState

__all__ = ["HealthOut", "JobOut", "StreamOut", "StreamSummaryOut"]


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
