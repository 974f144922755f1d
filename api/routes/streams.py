from __future__ import annotations

from fastapi import APIRouter

from api.deps import AnalyticsDep
from api.models import StreamSummaryOut

router = APIRouter(prefix="/v1/streams", tags=["streams"])


@router.get("/{stream_id}/summary", response_model=StreamSummaryOut)
def stream_summary(stream_id: str, analytics: AnalyticsDep) -> StreamSummaryOut:
    """Frames stored, distinct confirmed tracks, and tracks per class for one stream."""
    s = analytics.stream_summary(stream_id)
    return StreamSummaryOut(
        stream_id=s.stream_id, frames=s.frames, tracks=s.tracks, class_counts=s.class_counts
    )
