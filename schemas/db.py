"""Relational schema (Postgres in production, SQLite embedded): users, sessions, streams, jobs.

Changes go through Alembic migrations in ``schemas/migrations``; both engines run them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime

__all__ = ["Base", "Job", "Session", "Stream", "User", "utcnow"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sessions: Mapped[list[Session]] = relationship(back_populates="user")


class Session(Base):
    """A login session; the JWT carries its id so a session can be revoked."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    client: Mapped[str | None] = mapped_column(String(200), default=None)

    user: Mapped[User] = relationship(back_populates="sessions")


class Stream(Base):
    """A registered source. ``last_frame_no`` keeps frame numbers increasing across jobs.

    ``config`` holds the settings it is produced with. A live producer stores its figures
    every few seconds: ``state`` (connecting, live, reconnecting, stopped, failed), the
    publishing rate ``fps``, and since it started, frames dropped to keep up and reconnects.
    ``last_seen_at`` is when its last frame was captured.

    ``analytics_rules`` holds the stream's counting lines and zones in the form of
    ``processors.analytics.rules.StreamRules.to_dict()`` (validated before it is stored), or
    None for no rules; the worker reloads them periodically, so edits need no restart.
    ``rules_updated_at`` is when they were last set or cleared, for operators to compare
    with the worker's reload.
    """

    __tablename__ = "streams"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_frame_no: Mapped[int] = mapped_column(default=-1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str | None] = mapped_column(String(16), default=None)
    fps: Mapped[float | None] = mapped_column(Float, default=None)
    frames_dropped: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reconnects: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    status_at: Mapped[datetime | None] = mapped_column(default=None)
    # none_as_null: clearing must store SQL NULL, not JSON 'null', so "has rules" is IS NOT NULL.
    analytics_rules: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )
    rules_updated_at: Mapped[datetime | None] = mapped_column(default=None)

    jobs: Mapped[list[Job]] = relationship(back_populates="stream")

    @property
    def has_rules(self) -> bool:
        return self.analytics_rules is not None


class Job(Base):
    """A finite piece of work: a video file or upload through the pipeline."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream_id: Mapped[str] = mapped_column(ForeignKey("streams.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    first_frame_no: Mapped[int] = mapped_column(default=0)
    total_frames: Mapped[int | None] = mapped_column(default=None)
    frames_published: Mapped[int] = mapped_column(default=0)
    frames_processed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    stream: Mapped[Stream] = relationship(back_populates="jobs")
