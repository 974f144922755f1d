from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import AnalyticsDep, SessionDep
from api.models import StreamOut, StreamSummaryOut
from visiontrack import repository

router = APIRouter(prefix="/v1/streams", tags=["streams"])


@router.get("", response_model=list[StreamOut])
def list_streams(session: SessionDep, limit: int = 100) -> list[StreamOut]:
    """Registered streams with their live figures, the most recently seen first."""
    return [StreamOut.model_validate(s) for s in repository.list_streams(session, min(limit, 1000))]


@router.get("/{stream_id}", response_model=StreamOut)
def get_stream(stream_id: str, session: SessionDep) -> StreamOut:
    stream = repository.get_stream(session, stream_id)
    if stream is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no stream {stream_id!r}")
    return StreamOut.model_validate(stream)


@router.get("/{stream_id}/summary", response_model=StreamSummaryOut)
def stream_summary(stream_id: str, analytics: AnalyticsDep) -> StreamSummaryOut:
    """Frames stored, distinct confirmed tracks, and tracks per class for one stream."""
    s = analytics.stream_summary(stream_id)
    return StreamSummaryOut(
        stream_id=s.stream_id, frames=s.frames, tracks=s.tracks, class_counts=s.class_counts
    )
