"""What the API process owns: database, analytics store, and (embedded) the sink."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from processors.sink.analytics_sink import AnalyticsSink
from processors.sink.metrics import SinkMetrics
from visiontrack.analytics_store import AnalyticsStore, connect_analytics
from visiontrack.db import create_db_engine, session_factory
from visiontrack.settings import Settings

__all__ = ["ApiServices", "start_services"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ApiServices:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: AnalyticsStore
    sink: AnalyticsSink | None
    # What /metrics serves: the sink's metrics when it runs here.
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def stop(self) -> None:
        """Reverse of :func:`start_services`."""
        if self.sink is not None:
            self.sink.stop()
        self.engine.dispose()


def start_services(settings: Settings, bootstrap: str | None) -> ApiServices:
    """Open the stores and, when the settings say so, start the analytics sink."""
    engine = create_db_engine(settings.sqlalchemy_url)
    sessions = session_factory(engine)
    store = AnalyticsStore(connect_analytics(settings.analytics_dsn), settings.clickhouse_database)
    store.ensure_schema()
    registry = CollectorRegistry()
    sink = None
    if settings.sink_in_api:
        if bootstrap is None:
            raise RuntimeError("the analytics sink needs Kafka: no bootstrap servers known")
        metrics = SinkMetrics(group=settings.sink_group_id, registry=registry)
        sink = AnalyticsSink(settings, bootstrap, store, sessions, metrics)
        sink.start()
    return ApiServices(settings, engine, sessions, store, sink, registry)
