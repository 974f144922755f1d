"""Migration 0002 adds the live figures to streams that already exist, on both engines."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from visiontrack.db import alembic_config, create_db_engine


def test_existing_streams_get_zero_counts_and_downgrade_keeps_them(database_url: str) -> None:
    cfg = alembic_config(database_url)
    command.upgrade(cfg, "0001")
    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO streams (id, kind, source, config, last_frame_no, created_at) "
                "VALUES ('cam', 'file', '/a.mp4', '{}', 249, CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT last_frame_no, state, fps, frames_dropped, reconnects FROM streams")
        ).one()
    assert tuple(row) == (249, None, None, 0, 0)
    command.downgrade(cfg, "0001")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, last_frame_no FROM streams")).one() == ("cam", 249)
    engine.dispose()
