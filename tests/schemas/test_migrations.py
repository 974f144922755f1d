"""The Alembic migrations build the models' schema on SQLite and on Postgres."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from schemas.db import Base
from visiontrack.db import (
    SchemaBehindError,
    alembic_config,
    create_db_engine,
    migrate,
    require_current_schema,
)


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


def test_a_schema_behind_the_newest_migration_is_told_with_the_fix(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        with pytest.raises(SchemaBehindError) as empty:
            require_current_schema(engine)
        assert empty.value.current is None
        cfg = alembic_config(database_url)
        command.upgrade(cfg, "head")
        command.downgrade(cfg, "-1")
        with pytest.raises(SchemaBehindError) as older:
            require_current_schema(engine)
        assert older.value.current is not None
        assert older.value.newest == _newest() != older.value.current
        assert str(older.value) == (
            f"the database schema is at migration {older.value.current}, the code needs "
            f"{older.value.newest}: run `visiontrack db upgrade`"
        )
        migrate(engine)
        require_current_schema(engine)  # at the newest: nothing to say
    finally:
        engine.dispose()


def test_a_schema_ahead_of_the_code_is_let_be(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A newer release migrated the database while this one's processes still run.
    engine = create_db_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        require_current_schema(engine)
    finally:
        engine.dispose()
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"the database schema is at migration f00d, newer than this code's {_newest()}: going on"
    ]


def _newest() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
