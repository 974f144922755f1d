"""Queries on streams and jobs. Each function takes the session explicitly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from schemas.db import Job, Stream, utcnow
from schemas.jobs import JobState

__all__ = [
    "analytics_rules",
    "fail_job",
    "finish_publishing",
    "get_job",
    "get_stream",
    "list_jobs",
    "list_streams",
    "record_progress",
    "record_stream_status",
    "register_stream",
    "release_frame_numbers",
    "reserve_frame_numbers",
    "set_analytics_rules",
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


def fail_job(session: Session, job_id: str, error: str, frames_published: int | None = None) -> Job:
    """Mark the job failed. The stream's numbering moves past ``frames_published`` frames
    already sent, so a later job does not reuse numbers the worker may have applied."""
    job = _require_job(session, job_id)
    job.state, job.error, job.finished_at = JobState.FAILED.value, error, utcnow()
    if frames_published:
        job.frames_published = frames_published
        stream = _require_stream(session, job.stream_id)
        stream.last_frame_no = max(stream.last_frame_no, job.first_frame_no + frames_published - 1)
    return job


def get_stream(session: Session, stream_id: str) -> Stream | None:
    return session.get(Stream, stream_id)


def list_streams(session: Session, limit: int = 100) -> list[Stream]:
    """Registered streams, the most recently seen or created first."""
    recent = func.coalesce(Stream.last_seen_at, Stream.created_at)
    return list(session.scalars(select(Stream).order_by(recent.desc()).limit(limit)))


def set_analytics_rules(
    session: Session, stream_id: str, rules: dict[str, Any] | None
) -> Stream | None:
    """Store the stream's analytics rules, or clear them with None; None if no such stream.

    The caller validates ``rules`` (``StreamRules.from_dict(...).to_dict()``): the worker
    skips a stored configuration it cannot parse, so nothing invalid should reach here.
    """
    stream = session.get(Stream, stream_id)
    if stream is None:
        return None
    stream.analytics_rules = rules
    stream.rules_updated_at = utcnow()
    session.flush()
    return stream


def analytics_rules(session: Session) -> dict[str, dict[str, Any]]:
    """``{stream_id: rules}`` of every stream with rules, in one query (the worker's reload)."""
    rows = session.execute(
        select(Stream.id, Stream.analytics_rules).where(Stream.analytics_rules.is_not(None))
    )
    # a JSON 'null' (not SQL NULL) written by hand would pass the filter: skip it too
    return {stream_id: rules for stream_id, rules in rows if rules is not None}


def reserve_frame_numbers(session: Session, stream_id: str, count: int) -> int:
    """Reserve the next ``count`` frame numbers of the stream; returns the first.

    One atomic ``UPDATE ... RETURNING``, so concurrent reservations get disjoint blocks on
    Postgres and on SQLite alike.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    last = session.execute(
        update(Stream)
        .where(Stream.id == stream_id)
        .values(last_frame_no=Stream.last_frame_no + count)
        .returning(Stream.last_frame_no)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    if last is None:
        raise LookupError(f"no stream {stream_id!r}")
    return int(last) - count + 1


def release_frame_numbers(
    session: Session, stream_id: str, reserved_last: int, keep_last: int
) -> bool:
    """Give back the numbers after ``keep_last`` of a reservation ending at ``reserved_last``.

    Only if nothing was reserved after it (an atomic compare-and-set) and never below a
    job's numbers; returns whether numbers were given back.
    """
    keep = max(keep_last, _last_job_frame(session, stream_id))
    if keep >= reserved_last:
        return False
    result = session.execute(
        update(Stream)
        .where(Stream.id == stream_id, Stream.last_frame_no == reserved_last)
        .values(last_frame_no=keep)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_stream_status(
    session: Session,
    stream_id: str,
    *,
    state: str,
    fps: float | None,
    frames_dropped: int,
    reconnects: int,
    last_error: str | None,
    last_seen_at: datetime | None,
) -> Stream:
    """Store a live producer's figures for the stream (``last_seen_at`` only moves forward)."""
    stream = _require_stream(session, stream_id)
    stream.state, stream.fps, stream.last_error = state, fps, last_error
    stream.frames_dropped, stream.reconnects = frames_dropped, reconnects
    if last_seen_at is not None and (
        stream.last_seen_at is None or _aware(stream.last_seen_at) < last_seen_at
    ):
        stream.last_seen_at = last_seen_at
    stream.status_at = utcnow()
    return stream


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


def _require_stream(session: Session, stream_id: str) -> Stream:
    stream = session.get(Stream, stream_id)
    if stream is None:
        raise LookupError(f"no stream {stream_id!r}")
    return stream


def _last_job_frame(session: Session, stream_id: str) -> int:
    """The highest frame number any job of the stream has used (-1 if none)."""
    last = session.scalar(
        select(func.max(Job.first_frame_no + Job.frames_published - 1)).where(
            Job.stream_id == stream_id
        )
    )
    return -1 if last is None else int(last)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
