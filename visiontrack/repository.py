"""Queries on streams and jobs. Each function takes the session explicitly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.db import Job, Stream, utcnow
from schemas.jobs import JobState

__all__ = [
    "finish_publishing",
    "get_job",
    "list_jobs",
    "record_progress",
    "register_stream",
    "start_job",
]


def register_stream(
    session: Session, stream_id: str, kind: str, source: str, config: dict[str, Any] | None = None
) -> Stream:
    """Create the stream or refresh its source, config and last-seen time."""
    stream = session.get(Stream, stream_id)
    if stream is None:
        stream = Stream(id=stream_id, kind=kind, source=source, config=config or {})
        session.add(stream)
    else:
        stream.kind, stream.source = kind, source
        stream.config = config or {}
    stream.last_seen_at = utcnow()
    session.flush()
    return stream


def start_job(session: Session, stream: Stream, kind: str, source: str) -> Job:
    """A running job whose frames continue the stream's frame numbering."""
    job = Job(
        id=uuid.uuid4().hex,
        stream_id=stream.id,
        kind=kind,
        source=source,
        state=JobState.RUNNING.value,
        first_frame_no=stream.last_frame_no + 1,
    )
    session.add(job)
    session.flush()
    return job


def finish_publishing(session: Session, job_id: str, frames_published: int) -> Job:
    """Record how many frames the producer sent; the job is complete when all are processed."""
    job = _require_job(session, job_id)
    job.frames_published = frames_published
    job.total_frames = frames_published
    stream = session.get(Stream, job.stream_id)
    assert stream is not None
    stream.last_frame_no = max(stream.last_frame_no, job.first_frame_no + frames_published - 1)
    stream.last_seen_at = utcnow()
    _complete_if_done(job)
    return job


def fail_job(session: Session, job_id: str, error: str) -> Job:
    job = _require_job(session, job_id)
    job.state, job.error, job.finished_at = JobState.FAILED.value, error, utcnow()
    return job


def record_progress(
    session: Session, job_id: str, frames_processed: int, total_frames: int | None
) -> Job | None:
    """Store the processed-frame count (never decreasing); mark the job done when complete."""
    job = session.get(Job, job_id)
    if job is None:
        return None
    job.frames_processed = max(job.frames_processed, frames_processed)
    if job.total_frames is None and total_frames is not None:
        job.total_frames = total_frames
    _complete_if_done(job)
    return job


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def list_jobs(session: Session, limit: int = 50) -> Sequence[Job]:
    return session.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit)).all()


def _require_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise LookupError(f"no job {job_id!r}")
    return job


def _complete_if_done(job: Job) -> None:
    if (
        job.state == JobState.RUNNING.value
        and job.total_frames is not None
        and job.frames_processed >= job.total_frames
    ):
        job.state, job.finished_at = JobState.DONE.value, utcnow()
