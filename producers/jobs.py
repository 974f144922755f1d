"""A finite source as a job: register the stream, publish every frame, record the total.

Files, image sets and generated scenes are lossless: the publisher waits when its queue is
full. A source that fails part-way (a damaged file) fails the job after the frames before
the damage went out; the stream's numbering moves past them either way, so a later job
never reuses a number the worker has already applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from producers.chunks import ChunkPlan, chunk_message, encode_chunks
from producers.frames import SourceFrame, encode_frame
from producers.jpeg import EncodeError
from producers.publisher import RECORD_OVERHEAD, DeliveryError, FramePublisher, frame_limit
from producers.sources.images import image_paths, read_images
from producers.stream_copy import COPY_CONTAINER, CopyRefusedError, CopySource
from producers.video_file import read_video, video_fps
from schemas.frames import FrameMessage
from schemas.video_chunks import VideoChunk
from visiontrack import repository
from visiontrack.db import session_scope
from visiontrack.settings import Settings

__all__ = [
    "FileEncoding",
    "JobResult",
    "StopRequestedError",
    "publish_file",
    "publish_images",
    "publish_job",
]

log = logging.getLogger(__name__)


class StopRequestedError(RuntimeError):
    """Publishing stopped on request (a signal) before the source ended."""


@dataclass(frozen=True, slots=True)
class JobResult:
    job_id: str
    stream_id: str
    frames: int
    first_frame_no: int


class FileEncoding(StrEnum):
    """How a job's frames go out: JPEG frames on the ``frames`` topic, or ``video-chunks``
    of H.264 (re-encoded) or of the file's own encoded video (stream copy)."""

    JPEG = "jpeg"
    H264 = "h264"
    COPY = "copy"


def _settings_config(settings: Settings, kind: str, encoding: FileEncoding) -> dict[str, Any]:
    config: dict[str, Any] = {
        "kind": kind,
        "live": False,
        "messages": "frames" if encoding is FileEncoding.JPEG else "video-chunks",
        "encoding": encoding.value,
    }
    if encoding is FileEncoding.JPEG:
        config |= {
            "jpeg_quality": settings.jpeg_quality,
            "frame_max_bytes": settings.frame_max_bytes,
        }
    else:
        config |= {
            "chunk_seconds": settings.chunk_seconds,
            "chunk_max_bytes": settings.chunk_max_bytes,
        }
    if encoding is FileEncoding.H264:
        config["chunk_crf"] = settings.chunk_crf
    return config


def _frame_messages(
    settings: Settings,
    frames: Iterable[SourceFrame],
    *,
    stream_id: str,
    first: int,
    source: str,
    job_id: str,
) -> Iterator[tuple[FrameMessage, int]]:
    limit = frame_limit(settings.frame_max_bytes, settings.message_max_bytes)
    for frame in frames:
        message = encode_frame(
            frame,
            stream_id=stream_id,
            first_frame_no=first,
            source=source,
            job_id=job_id,
            jpeg_quality=settings.jpeg_quality,
            max_bytes=limit,
        )
        yield message, 1


def _chunk_messages(
    settings: Settings,
    frames: Iterable[SourceFrame],
    *,
    stream_id: str,
    first: int,
    fps: float,
    job_id: str,
) -> Iterator[tuple[VideoChunk, int]]:
    plan = ChunkPlan(settings.chunk_seconds, settings.chunk_max_bytes, settings.chunk_crf)
    for chunk in encode_chunks(frames, fps, plan):
        message = chunk_message(
            chunk, stream_id=stream_id, first_frame_no=first, fps=fps, job_id=job_id
        )
        yield _within_limit(settings, message, chunk.number), chunk.frame_count


def _copy_messages(
    settings: Settings, copy: CopySource, *, stream_id: str, first: int, job_id: str
) -> Iterator[tuple[VideoChunk, int]]:
    for chunk in copy.chunks():
        message = chunk_message(
            chunk,
            stream_id=stream_id,
            first_frame_no=first,
            fps=copy.fps,
            job_id=job_id,
            container=COPY_CONTAINER,
            codec=copy.codec,
        )
        yield _within_limit(settings, message, chunk.number), chunk.frame_count


def _within_limit(settings: Settings, message: VideoChunk, number: int) -> VideoChunk:
    limit = settings.message_max_bytes - RECORD_OVERHEAD
    size = len(message.to_bytes())
    if size > limit:
        raise EncodeError(
            f"chunk {number} takes {size} bytes, over the {limit} a message may: "
            "lower VISIONTRACK_CHUNK_MAX_BYTES or VISIONTRACK_CHUNK_SECONDS"
        )
    return message


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
    stop: threading.Event | None = None,
    chunk_fps: float | None = None,
) -> JobResult:
    """Publish ``frames`` on ``stream_id`` as a new job of the stream.

    Frames go to the ``frames`` topic as JPEG, or with ``chunk_fps`` to the
    ``video-chunks`` topic as H.264 chunks at that frame rate. Setting ``stop`` ends the
    job early: what was queued is flushed, the job is marked failed and
    :class:`StopRequestedError` is raised.
    """
    if chunk_fps is None:
        encoding = FileEncoding.JPEG
        topic = settings.topics.frames

        def messages(job_id: str, first: int) -> _Messages:
            return _frame_messages(
                settings, frames, stream_id=stream_id, first=first, source=source, job_id=job_id
            )
    else:
        encoding = FileEncoding.H264
        topic = settings.topics.video_chunks

        def messages(job_id: str, first: int) -> _Messages:
            return _chunk_messages(
                settings, frames, stream_id=stream_id, first=first, fps=chunk_fps, job_id=job_id
            )

    config = _settings_config(settings, kind, encoding)
    job = _Job(stream_id, kind, source, config, topic, on_frame, stop)
    return _publish(settings, bootstrap, sessions, job, messages)


_Messages = Iterator[tuple[FrameMessage, int]] | Iterator[tuple[VideoChunk, int]]


@dataclass(frozen=True, slots=True)
class _Job:
    """A job to publish: its stream, the stream's kind, source and config, the topic its
    messages go to, and the caller's progress callback and stop event."""

    stream_id: str
    kind: str
    source: str
    config: dict[str, Any]
    topic: str
    on_frame: Callable[[int], None] | None
    stop: threading.Event | None


def _publish(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    job: _Job,
    messages: Callable[[str, int], _Messages],
) -> JobResult:
    """Register the job, then publish ``messages(job_id, first_frame_no)`` (each with the
    frames it holds) to the job's topic and record the job's frame count."""
    stream_id, source, stop = job.stream_id, job.source, job.stop
    with session_scope(sessions) as session:
        stream = repository.register_stream(session, stream_id, job.kind, source, job.config)
        started = repository.start_job(session, stream, "video", source)
        job_id, first = started.id, started.first_frame_no
    extra = {"stream_id": stream_id, "job_id": job_id}
    log.info("publishing %s", source, extra=extra)
    publisher = FramePublisher(bootstrap, job.topic, settings.message_max_bytes)
    count = 0
    try:
        for message, frame_count in messages(job_id, first):
            if (stop is not None and stop.is_set()) or not publisher.publish(message, stop):
                raise StopRequestedError(f"stopped after {count} frames of {source}")
            count += frame_count
            if job.on_frame is not None:
                job.on_frame(count)
        publisher.close()
    except Exception as exc:
        _fail(publisher, sessions, job_id=job_id, count=count, exc=exc, extra=extra)
        raise
    with session_scope(sessions) as session:
        repository.finish_publishing(session, job_id, count)
    log.info("published %d frames", count, extra=extra)
    return JobResult(job_id, stream_id, count, first)


def _fail(
    publisher: FramePublisher,
    sessions: sessionmaker[Session],
    *,
    job_id: str,
    count: int,
    exc: Exception,
    extra: dict[str, str],
) -> None:
    """Flush what was queued before the failure, then record it on the job."""
    try:
        publisher.close()
    except DeliveryError as flush_exc:  # the original error is the one raised
        log.error("flushing after the failure failed: %s", flush_exc, extra=extra)
    with session_scope(sessions) as session:
        repository.fail_job(session, job_id, f"{type(exc).__name__}: {exc}", count)
    log.error("publishing failed after %d frames: %s", count, exc, extra=extra)


def publish_file(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    *,
    path: Path,
    stream_id: str,
    on_frame: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    encoding: FileEncoding = FileEncoding.COPY,
) -> JobResult:
    """Publish all frames of the video ``path`` on ``stream_id`` as a new job: as chunks
    of the file's own encoded video (:mod:`producers.stream_copy`; the default), as JPEG
    frames, or as H.264 chunks at the file's frame rate. A file whose video cannot be
    copied is sent as JPEG frames, the reason logged."""
    source = str(path.resolve())
    if encoding is FileEncoding.COPY:
        try:
            copy = CopySource.probe(path, settings.chunk_seconds, settings.chunk_max_bytes)
        except CopyRefusedError as exc:
            log.warning(
                "sending JPEG frames: the video cannot be copied: %s",
                exc,
                extra={"stream_id": stream_id, "source": source},
            )
            encoding = FileEncoding.JPEG
        else:

            def messages(job_id: str, first: int) -> _Messages:
                return _copy_messages(
                    settings, copy, stream_id=stream_id, first=first, job_id=job_id
                )

            config = _settings_config(settings, "file", encoding)
            topic = settings.topics.video_chunks
            job = _Job(stream_id, "file", source, config, topic, on_frame, stop)
            return _publish(settings, bootstrap, sessions, job, messages)
    return publish_job(
        settings,
        bootstrap,
        sessions,
        stream_id=stream_id,
        kind="file",
        source=source,
        frames=read_video(path),
        on_frame=on_frame,
        stop=stop,
        chunk_fps=video_fps(path) if encoding is FileEncoding.H264 else None,
    )


def publish_images(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    *,
    spec: str,
    stream_id: str,
    paths: Sequence[Path] | None = None,
    on_frame: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> JobResult:
    """Publish the images ``spec`` names (a file, folder or glob) on ``stream_id`` as a job.

    ``paths`` are those files when the caller has listed them already (to count them).
    Files that are not decodable images are logged with the stream id and skipped.
    """
    if paths is None:
        paths = image_paths(spec)

    def on_skip(path: Path, reason: str) -> None:
        log.warning(
            "skipping %s: %s", path, reason, extra={"stream_id": stream_id, "path": str(path)}
        )

    return publish_job(
        settings,
        bootstrap,
        sessions,
        stream_id=stream_id,
        kind="images",
        source=spec,
        frames=read_images(paths, on_skip),
        on_frame=on_frame,
        stop=stop,
    )
