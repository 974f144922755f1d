from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep
from api.models import HealthOut

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/health", response_model=HealthOut)
def health(services: ServicesDep, response: Response) -> HealthOut:
    """200 when the database, the analytics store and (if run here) the sink are up."""
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = True
    except SQLAlchemyError as exc:
        log.warning("database check failed: %s", exc)
        database = False
    analytics = services.store.ping()
    sink = services.sink
    sink_state = "not-run-here" if sink is None else ("running" if sink.running else "stopped")
    ok = database and analytics and sink_state != "stopped"
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(
        status="ok" if ok else "degraded",
        database=database,
        analytics=analytics,
        sink=sink_state,
        frames_written=sink.stats.frames_written if sink else 0,
    )
