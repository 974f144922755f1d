"""Reading back what producers published, from the real broker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from infra.topics import ensure_topics
from schemas.frames import FrameMessage
from tests.kafka_reading import earliest_consumer
from visiontrack import repository
from visiontrack.db import create_db_engine, migrate, session_factory, session_scope
from visiontrack.settings import Settings


class FrameReader:
    """Consumes a frames topic from the start, accumulating decoded frames."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = earliest_consumer(bootstrap, topic)
        self.frames: list[FrameMessage] = []

    def read_until(
        self, done: Callable[[list[FrameMessage]], bool], timeout: float = 60.0
    ) -> list[FrameMessage]:
        """Poll until ``done(frames)`` holds; returns the frames (the caller asserts on them)."""
        deadline = time.monotonic() + timeout
        while not done(self.frames) and time.monotonic() < deadline:
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            value = msg.value()
            assert value is not None
            frame = FrameMessage.from_bytes(value)
            assert msg.key() == frame.stream_id.encode()
            self.frames.append(frame)
        return self.frames

    def read_quiet(self, quiet_s: float = 3.0, timeout: float = 60.0) -> list[FrameMessage]:
        """Poll until nothing new arrives for ``quiet_s``."""
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while time.monotonic() - last_new < quiet_s and time.monotonic() < deadline:
            msg = self._consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            value = msg.value()
            assert value is not None
            self.frames.append(FrameMessage.from_bytes(value))
            last_new = time.monotonic()
        return self.frames

    def close(self) -> None:
        self._consumer.close()


@contextmanager
def frame_reader(bootstrap: str, topic: str) -> Iterator[FrameReader]:
    reader = FrameReader(bootstrap, topic)
    try:
        yield reader
    finally:
        reader.close()


def prepared(settings: Settings, bootstrap: str, data_dir: Path) -> sessionmaker[Session]:
    """Topics created and a migrated database (the settings' own) for one test."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings, bootstrap)
    engine = create_db_engine(settings.sqlalchemy_url)
    migrate(engine)
    return session_factory(engine)


def by_stream(frames: list[FrameMessage], stream_id: str) -> list[FrameMessage]:
    return [f for f in frames if f.stream_id == stream_id]


def assert_sent_as_jpeg_frames(
    settings: Settings, sessions: sessionmaker[Session], stream_id: str, count: int
) -> None:
    """``stream_id`` published frames 0..count-1 as JPEG frames, and its config says so."""
    bootstrap = settings.kafka_bootstrap_servers or ""
    with frame_reader(bootstrap, settings.topics.frames) as reader:
        sent = by_stream(
            reader.read_until(lambda fs: len(by_stream(fs, stream_id)) >= count), stream_id
        )
    assert [f.frame_no for f in sent] == list(range(count))
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, stream_id)
        assert stream is not None
        assert (stream.config["messages"], stream.config["encoding"]) == ("frames", "jpeg")
