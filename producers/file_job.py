"""A video file as a job: register the stream, publish every frame, record the total."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
from sqlalchemy.orm import Session, sessionmaker

from producers.publisher import FramePublisher
from producers.video_file import SourceError, read_video
from schemas.frames import FrameMessage
from visiontrack import repository
from visiontrack.db import session_scope
from visiontrack.settings import Settings

__all__ = ["FileJobResult", "publish_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileJobResult:
    job_id: str
    stream_id: str
    frames: int
    first_frame_no: int


def publish_file(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    *,
    path: Path,
    stream_id: str,
    on_frame: Callable[[int], None] | None = None,
) -> FileJobResult:
    """Publish all frames of ``path`` on ``stream_id`` as a new job."""
    source = str(path.resolve())
    with session_scope(sessions) as session:
        stream = repository.register_stream(session, stream_id, "file", source)
        job = repository.start_job(session, stream, "video", source)
        job_id, first = job.id, job.first_frame_no
    extra = {"stream_id": stream_id, "job_id": job_id}
    log.info("publishing %s", path, extra=extra)
    publisher = FramePublisher(bootstrap, settings.topics.frames, settings.message_max_bytes)
    params = [cv2.IMWRITE_JPEG_QUALITY, settings.jpeg_quality]
    count = 0
    try:
        for frame in read_video(path):
            ok, jpeg = cv2.imencode(".jpg", frame.image, params)
            if not ok:
                raise SourceError(f"JPEG encoding failed at frame {frame.index} of {path}")
            height, width = frame.image.shape[:2]
            publisher.publish(
                FrameMessage(
                    stream_id=stream_id,
                    frame_no=first + frame.index,
                    captured_at=time.time(),
                    source=source,
                    width=width,
                    height=height,
                    jpeg=jpeg.tobytes(),
                    job_id=job_id,
                    total_frames=frame.index + 1 if frame.is_last else None,
                )
            )
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
    return FileJobResult(job_id, stream_id, count, first)
