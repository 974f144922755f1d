from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from schemas.jobs import JobState
from visiontrack import repository
from visiontrack.db import create_db_engine, migrate, session_factory, session_scope


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'vt.db'}")
    migrate(engine)
    return session_factory(engine)


def test_jobs_on_one_stream_continue_its_frame_numbers(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        stream = repository.register_stream(s, "cam", "file", "/a.mp4")
        first = repository.start_job(s, stream, "video", "/a.mp4")
        repository.finish_publishing(s, first.id, 250)
    with session_scope(sessions) as s:
        stream = repository.register_stream(s, "cam", "file", "/b.mp4")
        second = repository.start_job(s, stream, "video", "/b.mp4")
    assert first.first_frame_no == 0
    assert second.first_frame_no == 250


def test_job_is_done_only_when_every_frame_is_processed(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        job = repository.start_job(s, repository.register_stream(s, "c", "file", "x"), "video", "x")
        job_id = job.id
    with session_scope(sessions) as s:
        job_row = repository.record_progress(s, job_id, 100, None)
        assert job_row is not None and job_row.state == JobState.RUNNING
    with session_scope(sessions) as s:
        repository.finish_publishing(s, job_id, 120)
    with session_scope(sessions) as s:
        # a stale, smaller count never lowers progress
        job_row = repository.record_progress(s, job_id, 90, 120)
        assert job_row is not None
        assert job_row.frames_processed == 100 and job_row.state == JobState.RUNNING
        job_row = repository.record_progress(s, job_id, 120, 120)
        assert job_row is not None and job_row.state == JobState.DONE
        assert job_row.finished_at is not None


def test_progress_for_an_unknown_job_is_reported_not_invented(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        assert repository.record_progress(s, "nope", 5, 5) is None
        assert repository.get_job(s, "nope") is None
