"""Database engine, sessions and migrations for the relational store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "SchemaBehindError",
    "create_db_engine",
    "migrate",
    "refuse_a_schema_behind",
    "require_current_schema",
    "session_factory",
    "session_scope",
]

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "schemas" / "migrations"


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so processes can share it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
            cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    log.info("database migrated", extra={"database": engine.url.render_as_string()})


class SchemaBehindError(RuntimeError):
    """The database schema is not at the code's newest migration."""

    def __init__(self, current: str | None, newest: str) -> None:
        super().__init__(
            f"the database schema is at migration {current or 'none'}, the code needs "
            f"{newest}: run `visiontrack db upgrade`"
        )
        self.current, self.newest = current, newest


def require_current_schema(engine: Engine) -> None:
    """Raise :class:`SchemaBehindError` when the schema is behind the code's newest
    migration, and SQLAlchemy's error when the database cannot be read. A schema at a
    migration the code does not know, a newer release's, is logged and let be: during a
    rolling upgrade the older processes run on beside the newer ones."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string()))
    newest = script.get_current_head()
    assert newest is not None  # the migrations have one head
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == newest:
        return
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        log.warning(
            "the database schema is at migration %s, newer than this code's %s: going on",
            current,
            newest,
        )
        return
    raise SchemaBehindError(current, newest)


def refuse_a_schema_behind(url: str) -> None:
    """At a process's start, raise :class:`SchemaBehindError` when the database at ``url``
    is behind the code: the process would otherwise fail its first reads and writes, and
    go on failing. A database it cannot reach yet is let be (its readers retry)."""
    engine = create_db_engine(url)
    try:
        require_current_schema(engine)
    except SQLAlchemyError as exc:
        log.warning("cannot check the database schema, going on: %s", exc)
    finally:
        engine.dispose()
