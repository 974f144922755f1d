"""Fixtures of the integration tests: settings for a whole pipeline on real components."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.broker import BundledBroker
from visiontrack.settings import Settings


@pytest.fixture
def pipeline_settings(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    postgres_url: str,
    chdb_dsn: str,
    clickhouse_database: str,
) -> Callable[..., Settings]:
    """Settings on the test broker, a fresh Postgres database and a ClickHouse database of
    the test's own, with ``overrides``."""

    def build(**overrides: object) -> Settings:
        return make_settings(
            kafka_bootstrap_servers=broker.bootstrap_servers,
            database_url=postgres_url,
            clickhouse_dsn=chdb_dsn,
            clickhouse_database=clickhouse_database,
            **overrides,
        )

    return build
