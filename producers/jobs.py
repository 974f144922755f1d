"""A finite source as a job: register the stream, publish every frame, record the total.

Files and generated scenes are lossless: the publisher waits when its queue is full.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from producers.frames import SourceFrame, encode_frame
from producers.publisher import FramePublisher
from producers.video_file import read_video
from visiontrack import repository
from visiontrack.db import session_scope
from visiontrack.settings import Settings

__all__ = ["JobResult", "publish_file", "publish_job"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobResult:
    job_id: str
    stream_id: str
    frames: int
    first_frame_no: int


def publish_job(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    *,
    stream_id: str,
    kind: str,
    source: str,
    frames: Iterable[SourceFrame],
    on_frame: Callable[[int], None] | None = None,
) -> JobResult:
    """Publish ``frames`` on ``stream_id`` as a new job of the stream."""
    with session_scope(sessions) as session:
        stream = repository.register_stream(session, stream_id, kind, source)
        job = repository.start_job(session, stream, "video", source)
        job_id, first = job.id, job.first_frame_no
    extra = {"stream_id": stream_id, "job_id": job_id}
    log.info("publishing %s", source, extra=extra)
    publisher = FramePublisher(bootstrap, settings.topics.frames, settings.message_max_bytes)
    count = 0
    try:
        for frame in frames:
            message = encode_frame(
                frame,
                stream_id=stream_id,
                first_frame_no=first,
                source=source,
                job_id=job_id,
                jpeg_quality=settings.jpeg_quality,
            )
            publisher.publish(message)
            count += 1
            if on_frame is not None:
                on_frame(count)
        publisher.close()
    except Exception as exc:
        with session_scope(sessions) as session:
            repository.fail_job(session, job_id, f"{type(exc).__name__}: {exc}")
        log.error("publishing failed after %d frames: %s", count, exc, extra=extra)
        raise
    with session_scope(sessions) as session:
        repository.finish_publishing(session, job_id, count)
    log.info("published %d frames", count, extra=extra)
    return JobResult(job_id, stream_id, count, first)


def publish_file(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    *,
    path: Path,
    stream_id: str,
    on_frame: Callable[[int], None] | None = None,
) -> JobResult:
    """Publish all frames of the video ``path`` on ``stream_id`` as a new job."""
    return publish_job(
        settings,
        bootstrap,
        sessions,
        stream_id=stream_id,
        kind="file",
        source=str(path.resolve()),
        frames=read_video(path),
        on_frame=on_frame,
    )
