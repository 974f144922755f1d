from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import AnalyticsDep, SessionDep
from api.models import JobOut, StreamSummaryOut
from visiontrack import repository

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobOut])
def list_jobs(session: SessionDep, limit: int = 50) -> list[JobOut]:
    return [JobOut.model_validate(j) for j in repository.list_jobs(session, min(limit, 500))]


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    job = repository.get_job(session, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id!r}")
    return JobOut.model_validate(job)


@router.get("/{job_id}/summary", response_model=StreamSummaryOut)
def job_summary(job_id: str, session: SessionDep, analytics: AnalyticsDep) -> StreamSummaryOut:
    """Frames stored, distinct confirmed tracks, and tracks per class of one job."""
    job = repository.get_job(session, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id!r}")
    s = analytics.job_summary(job_id, job.stream_id)
    return StreamSummaryOut(
        stream_id=s.stream_id, frames=s.frames, tracks=s.tracks, class_counts=s.class_counts
    )
