"""Prometheus metrics of the API process: the analytics sink's, when it runs here."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ServicesDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def metrics(services: ServicesDep) -> Response:
    """The Prometheus text exposition of the process's metrics."""
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)
