"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import health, jobs, metrics, streams
from api.services import ApiServices, start_services
from visiontrack.gc_freeze import freeze_loaded_objects
from visiontrack.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings,
    bootstrap: str | None,
    services: ApiServices | None = None,
    *,
    freeze_at_startup: bool = False,
) -> FastAPI:
    """The API; its lifespan opens the stores and runs the analytics sink when embedded.

    Given ``services`` (already running, owned by the caller), it serves those instead.
    With ``freeze_at_startup`` (the API's own process), what is loaded once it has started
    is kept out of the garbage collector's full collections.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        running = start_services(settings, bootstrap) if services is None else services
        app.state.services = running
        dashboard = None
        if settings.dashboard_enabled:
            from dashboards.app import serve_dashboard

            dashboard = serve_dashboard(running, settings.api_host, settings.dashboard_port)
        if freeze_at_startup:
            freeze_loaded_objects()
        try:
            yield
        finally:
            if dashboard is not None:
                dashboard.stop()
            if owned:
                running.stop()

    app = FastAPI(title="VisionTrack", version="0.1.0", lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(jobs.router)
    app.include_router(streams.router)
    return app
