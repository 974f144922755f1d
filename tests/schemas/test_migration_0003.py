"""Migration 0003 adds empty analytics rules to streams that already exist, on both engines."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from visiontrack.db import alembic_config, create_db_engine


def test_existing_streams_get_no_rules_and_downgrade_keeps_them(database_url: str) -> None:
    cfg = alembic_config(database_url)
    command.upgrade(cfg, "0002")
    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO streams (id, kind, source, config, last_frame_no, created_at) "
                "VALUES ('cam', 'file', '/a.mp4', '{}', 249, CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(cfg, "0003")
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT last_frame_no, analytics_rules, rules_updated_at FROM streams")
        ).one()
        assert tuple(row) == (249, None, None)
        conn.execute(
            text("UPDATE streams SET analytics_rules = :rules"),
            {"rules": '{"lines": [], "zones": []}'},
        )
    command.downgrade(cfg, "0002")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, last_frame_no FROM streams")).one() == ("cam", 249)
    engine.dispose()
