from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Response, status
from sqlalchemy.orm import Session

from api.deps import AnalyticsDep, SessionDep
from api.models import StreamOut, StreamRulesOut, StreamSummaryOut
from processors.analytics.rules import StreamRules
from schemas.db import Stream
from visiontrack import repository

router = APIRouter(prefix="/v1/streams", tags=["streams"])

_RULES_EXAMPLE: dict[str, Any] = {
    "lines": [
        {
            "id": "door",
            "name": "Front door",
            "start": [100, 400],
            "end": [540, 400],
            "margin_px": 8,
            "anchor": "bottom_center",
            "classes": ["person"],
        }
    ],
    "zones": [
        {
            "id": "queue",
            "name": "Checkout queue",
            "polygon": [[600, 300], [900, 300], [900, 700], [600, 700]],
            "min_frames_in": 2,
            "min_frames_out": 2,
        }
    ],
}
RulesBody = Annotated[
    dict[str, Any],
    Body(openapi_examples={"line and zone": {"value": _RULES_EXAMPLE}}),
]


@router.get("", response_model=list[StreamOut])
def list_streams(session: SessionDep, limit: int = 100) -> list[StreamOut]:
    """Registered streams with their live figures, the most recently seen first."""
    return [StreamOut.model_validate(s) for s in repository.list_streams(session, min(limit, 1000))]


@router.get("/{stream_id}", response_model=StreamOut)
def get_stream(stream_id: str, session: SessionDep) -> StreamOut:
    return StreamOut.model_validate(_require_stream(session, stream_id))


@router.get("/{stream_id}/summary", response_model=StreamSummaryOut)
def stream_summary(stream_id: str, analytics: AnalyticsDep) -> StreamSummaryOut:
    """Frames stored, distinct confirmed tracks, and tracks per class for one stream."""
    s = analytics.stream_summary(stream_id)
    return StreamSummaryOut(
        stream_id=s.stream_id, frames=s.frames, tracks=s.tracks, class_counts=s.class_counts
    )


@router.get("/{stream_id}/rules", response_model=StreamRulesOut)
def get_rules(stream_id: str, session: SessionDep) -> StreamRulesOut:
    """The stream's counting lines and zones (both lists empty when it has none).

    Coordinates are pixels of the source frame. A line is directed start→end: with image y
    pointing down, a track crossing from the line's left side to its right side counts as
    "in", right to left as "out".
    """
    stored = _require_stream(session, stream_id).analytics_rules
    return StreamRulesOut.model_validate(stored or StreamRules().to_dict())


@router.put("/{stream_id}/rules", response_model=StreamRulesOut)
def put_rules(stream_id: str, rules: RulesBody, session: SessionDep) -> StreamRulesOut:
    """Replace the stream's rules; the worker picks them up within its refresh interval.

    The body is ``{"lines": [...], "zones": [...]}`` (either may be left out). A line needs
    ``id``, ``name``, ``start`` and ``end`` ([x, y] pixels); it is directed start→end, and
    with image y pointing down a track crossing from its left side to its right side counts
    as "in", right to left as "out" (draw it end→start to swap). Optional: ``margin_px``
    (default 8), ``anchor`` (``bottom_center`` or ``center``), ``classes`` (null: all).
    A zone needs ``id``, ``name`` and ``polygon`` (at least 3 [x, y] points); optional:
    ``anchor``, ``classes``, ``min_frames_in`` and ``min_frames_out`` (default 2).
    Rule ids are unique across lines and zones. An invalid configuration, including an
    unknown key, is a 422 whose ``detail`` says what is wrong. Returns the rules as stored,
    with defaults filled in; empty lists clear the rules.
    """
    _require_stream(session, stream_id)
    try:
        parsed = StreamRules.from_dict(rules)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    normalized = parsed.to_dict()
    # no rules are stored as NULL, so a stream "has rules" only when it has one
    repository.set_analytics_rules(
        session, stream_id, normalized if parsed.lines or parsed.zones else None
    )
    session.commit()
    return StreamRulesOut.model_validate(normalized)


@router.delete("/{stream_id}/rules", status_code=status.HTTP_204_NO_CONTENT)
def delete_rules(stream_id: str, session: SessionDep) -> Response:
    """Remove every line and zone of the stream; the worker stops applying them."""
    _require_stream(session, stream_id)
    repository.set_analytics_rules(session, stream_id, None)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _require_stream(session: Session, stream_id: str) -> Stream:
    """The stream, or a 404 naming it."""
    stream = repository.get_stream(session, stream_id)
    if stream is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no stream {stream_id!r}")
    return stream
