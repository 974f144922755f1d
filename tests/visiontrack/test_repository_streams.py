"""Streams: frame numbers reserved by live producers, live figures, failed jobs' numbers.

On SQLite and on Postgres (row locks matter there).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from visiontrack import repository
from visiontrack.db import create_db_engine, migrate, session_factory, session_scope


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vt.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def _last_frame_no(sessions: sessionmaker[Session], stream_id: str) -> int:
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, stream_id)
        assert stream is not None
        return stream.last_frame_no


def test_reservations_are_disjoint_and_continue_after_jobs(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        stream = repository.register_stream(s, "cam", "file", "/a.mp4")
        job = repository.start_job(s, stream, "video", "/a.mp4")
        repository.finish_publishing(s, job.id, 50)
    with session_scope(sessions) as s:
        first = repository.reserve_frame_numbers(s, "cam", 100)
    with session_scope(sessions) as s:
        second = repository.reserve_frame_numbers(s, "cam", 100)
    assert (first, second) == (50, 150)
    assert _last_frame_no(sessions, "cam") == 249


def test_concurrent_reservations_never_overlap(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        repository.register_stream(s, "cam", "camera", "rtsp://x/1")
    firsts: list[int] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(5):
            with session_scope(sessions) as s:
                first = repository.reserve_frame_numbers(s, "cam", 10)
            with lock:
                firsts.append(first)

    threads = [threading.Thread(target=reserve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(firsts) == list(range(0, 200, 10))


def test_unused_numbers_are_given_back_only_if_nothing_came_after(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        repository.register_stream(s, "cam", "camera", "rtsp://x/1")
        repository.reserve_frame_numbers(s, "cam", 100)  # 0..99, 0..41 used
    with session_scope(sessions) as s:
        assert repository.release_frame_numbers(s, "cam", reserved_last=99, keep_last=41)
    assert _last_frame_no(sessions, "cam") == 41
    with session_scope(sessions) as s:
        repository.reserve_frame_numbers(s, "cam", 100)  # 42..141
        repository.reserve_frame_numbers(s, "cam", 100)  # someone else: 142..241
    with session_scope(sessions) as s:
        assert not repository.release_frame_numbers(s, "cam", reserved_last=141, keep_last=50)
    assert _last_frame_no(sessions, "cam") == 241


def test_a_job_started_during_a_reservation_keeps_its_numbers(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        stream = repository.register_stream(s, "cam", "camera", "rtsp://x/1")
        repository.reserve_frame_numbers(s, "cam", 100)  # 0..99
        job = repository.start_job(s, stream, "video", "/b.mp4")  # from 100, still running
    with session_scope(sessions) as s:
        repository.release_frame_numbers(s, "cam", reserved_last=99, keep_last=9)
    assert job.first_frame_no == 100
    assert _last_frame_no(sessions, "cam") == 99  # not below the running job's first - 1


def test_a_failed_job_still_moves_the_numbering_past_what_it_sent(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        stream = repository.register_stream(s, "cam", "file", "/cut.avi")
        job = repository.start_job(s, stream, "video", "/cut.avi")
    with session_scope(sessions) as s:
        failed = repository.fail_job(s, job.id, "SourceError: truncated", frames_published=17)
        assert (failed.state, failed.frames_published) == ("failed", 17)
    with session_scope(sessions) as s:
        stream = repository.register_stream(s, "cam", "file", "/next.avi")
        later = repository.start_job(s, stream, "video", "/next.avi")
    assert later.first_frame_no == 17


def test_live_figures_are_stored_and_last_seen_only_moves_forward(
    sessions: sessionmaker[Session],
) -> None:
    seen = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with session_scope(sessions) as s:
        repository.register_stream(s, "cam", "camera", "rtsp://x/1", {"target_fps": 5.0})
        repository.record_stream_status(
            s,
            "cam",
            state="live",
            fps=4.9,
            frames_dropped=3,
            reconnects=1,
            last_error="read failed",
            last_seen_at=seen,
        )
    with session_scope(sessions) as s:
        repository.record_stream_status(
            s,
            "cam",
            state="stopped",
            fps=None,
            frames_dropped=4,
            reconnects=1,
            last_error=None,
            last_seen_at=seen - timedelta(seconds=30),
        )
    with session_scope(sessions) as s:
        stream = repository.get_stream(s, "cam")
        assert stream is not None
        assert (stream.state, stream.fps, stream.frames_dropped, stream.reconnects) == (
            "stopped",
            None,
            4,
            1,
        )
        assert stream.config == {"target_fps": 5.0}
        assert stream.last_seen_at is not None
        assert stream.last_seen_at.replace(tzinfo=UTC) == seen
        assert stream.status_at is not None


RULES = {
    "lines": [{"id": "door", "name": "Door", "start": [0.0, 5.0], "end": [10.0, 5.0]}],
    "zones": [],
}


def test_analytics_rules_are_stored_cleared_and_listed_only_where_set(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        for stream_id in ("a", "b", "c"):
            repository.register_stream(s, stream_id, "camera", f"rtsp://x/{stream_id}")
        assert repository.analytics_rules(s) == {}
        stored = repository.set_analytics_rules(s, "a", RULES)
        assert stored is not None and stored.rules_updated_at is not None
        repository.set_analytics_rules(s, "b", {"lines": [], "zones": [{"id": "z"}]})
    with session_scope(sessions) as s:
        assert repository.analytics_rules(s) == {
            "a": RULES,
            "b": {"lines": [], "zones": [{"id": "z"}]},
        }
        repository.set_analytics_rules(s, "b", None)
    with session_scope(sessions) as s:
        assert repository.analytics_rules(s) == {"a": RULES}
        cleared = repository.get_stream(s, "b")
        assert cleared is not None and cleared.analytics_rules is None and not cleared.has_rules


def test_rules_of_an_unknown_stream_are_not_stored(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        assert repository.set_analytics_rules(s, "nowhere", RULES) is None
        assert repository.analytics_rules(s) == {}


def test_registering_a_stream_again_keeps_its_rules(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        repository.register_stream(s, "cam", "file", "/a.mp4")
        repository.set_analytics_rules(s, "cam", RULES)
    with session_scope(sessions) as s:
        repository.register_stream(s, "cam", "file", "/b.mp4", {"target_fps": 5.0})
    with session_scope(sessions) as s:
        assert repository.analytics_rules(s) == {"cam": RULES}
