"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.services import ApiServices
from visiontrack.analytics_store import AnalyticsStore

__all__ = ["AnalyticsDep", "ServicesDep", "SessionDep"]


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


def get_analytics(services: ServicesDep) -> AnalyticsStore:
    return services.store


SessionDep = Annotated[Session, Depends(get_session)]
AnalyticsDep = Annotated[AnalyticsStore, Depends(get_analytics)]
