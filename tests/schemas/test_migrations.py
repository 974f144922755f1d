"""The Alembic migrations build the models' schema on SQLite and on Postgres."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from schemas.db import Base
from visiontrack.db import alembic_config, create_db_engine, migrate


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _columns(url: str, table: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table(database_url: str) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    engine.dispose()
    assert _tables(database_url) == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        assert _columns(database_url, name) == {c.name for c in table.columns}


def test_downgrade_removes_everything_and_upgrade_is_repeatable(database_url: str) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    migrate(engine)  # at head already: nothing to do, no error
    cfg = alembic_config(database_url)
    command.downgrade(cfg, "base")
    assert _tables(database_url) == set()
    command.upgrade(cfg, "head")
    assert _tables(database_url) == set(Base.metadata.tables)
    engine.dispose()
