"""Topic ``job-progress``: how far a job (a video through the pipeline) has come."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.codec import WireModel

__all__ = ["JobProgress", "JobState"]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobProgress(WireModel):
    kind: ClassVar[str] = "job_progress"
    version: ClassVar[int] = 1

    job_id: str
    stream_id: str
    state: JobState
    frames_processed: int = Field(ge=0)
    total_frames: int | None = Field(default=None, ge=0)
    updated_at: float
