"""Shared fixtures: the real bundled broker, a Postgres database per test, chDB per test,
the session's detector exports."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from infra.broker import BundledBroker
from processors.detection.ultralytics_env import configure_ultralytics
from visiontrack.analytics_store import AnalyticsStore, connect_analytics
from visiontrack.settings import Settings, TopicNames

POSTGRES_ADMIN_ENV = "VISIONTRACK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BundledBroker]:
    """One real Kafka-protocol broker (Tansu) for the session; tests use their own topics."""
    with BundledBroker(log_file=tmp_path_factory.mktemp("broker") / "broker.log") as b:
        yield b


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the detector exports go, for the whole session as a worker's data directory
    keeps them: each is made once and reused after (an INT8 export calibrates for 12-30 s).
    Ultralytics is kept in a scratch folder."""
    configure_ultralytics(tmp_path_factory.mktemp("ultralytics"))
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def chdb_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """chDB allows one data directory per process: tests share it, one database each."""
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def clickhouse_database(chdb_dsn: str) -> Iterator[str]:
    name = unique("t")
    yield name
    connect_analytics(chdb_dsn).command(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def analytics_store(chdb_dsn: str, clickhouse_database: str) -> AnalyticsStore:
    store = AnalyticsStore(connect_analytics(chdb_dsn), clickhouse_database)
    store.ensure_schema()
    return store


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ADMIN_ENV, DEFAULT_POSTGRES_ADMIN)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.exit(
            f"cannot reach Postgres at {url}: {exc.orig}\n"
            f"Point the tests at a server with {POSTGRES_ADMIN_ENV}=postgresql+psycopg2://"
            "USER[:PASSWORD]@HOST:PORT/postgres (the user must be allowed to create databases).",
            returncode=2,
        )
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty Postgres database for one test, dropped afterwards."""
    name = unique("vt_test")
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated for one test: own data dir, topics and consumer groups."""
    run = uuid.uuid4().hex[:8]

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "topics": TopicNames(
                frames=f"frames-{run}",
                video_chunks=f"video-chunks-{run}",
                tracks=f"tracks-{run}",
                job_progress=f"job-progress-{run}",
                dead_letter=f"dead-letter-{run}",
                events=f"events-{run}",
            ),
            "worker_id": f"worker-{run}",
            "sink_group_id": f"sink-{run}",
            "topic_partitions": 2,
            "broker_session_timeout_s": 6.0,
            "broker_heartbeat_interval_s": 1.0,
            "dashboard_enabled": False,
            "worker_metrics_port": 0,
            "live_metrics_port": 0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build
