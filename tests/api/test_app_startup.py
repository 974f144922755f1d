"""The API's own process keeps what it loaded at start-up out of full collections."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import ApiServices
from visiontrack.analytics_store import AnalyticsStore
from visiontrack.db import create_db_engine, migrate, session_factory
from visiontrack.settings import Settings


@pytest.mark.parametrize("freeze", [True, False])
def test_what_the_api_loaded_is_frozen_once_it_runs_when_asked(
    freeze: bool,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    analytics_store: AnalyticsStore,
) -> None:
    settings = make_settings()
    engine = create_db_engine(f"sqlite:///{tmp_path / 'vt.db'}")
    migrate(engine)
    services = ApiServices(settings, engine, session_factory(engine), analytics_store, None)
    app = create_app(settings, None, services, freeze_at_startup=freeze)
    assert gc.get_freeze_count() == 0
    try:
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
            frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
        engine.dispose()
    assert (frozen > 10_000) is freeze
