"""Several live streams in one process: the composition root of ``produce camera``.

Start order: one shared :class:`~producers.publisher.FramePublisher`, each stream
registered in the database with its source and settings, then each stream's threads. While
they run, the main thread serves delivery reports, stores every stream's live figures
(state, fps, drops, reconnects, last-seen time) every ``status_interval_s`` and calls
``on_tick`` about once a second (the CLI's status line); ``run_live`` also serves them to
Prometheus (:mod:`producers.live.metrics`). Stop (the stop event, set by a
signal or by a failing stream) runs in reverse: streams end, the publisher flushes, unused
frame numbers are given back and the final figures stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from producers.chunks import ChunkPlan
from producers.live.figures import RateMeter, StreamState, StreamStatus
from producers.live.metrics import LiveFiguresCollector
from producers.live.numbers import FrameNumbers
from producers.live.stream import LiveOptions, LiveStream
from producers.publisher import RECORD_OVERHEAD, DeliveryError, FramePublisher, frame_limit
from producers.sources.live import LiveSource
from visiontrack import repository
from visiontrack.backoff import BackoffPolicy
from visiontrack.db import session_scope
from visiontrack.metrics_server import serve_metrics
from visiontrack.settings import Settings

__all__ = ["LiveProducer", "LiveSpec", "live_options", "run_live"]

log = logging.getLogger(__name__)

TICK_S = 1.0
POLL_S = 0.2
JOIN_TIMEOUT_S = 15.0
FLUSH_TIMEOUT_S = 30.0
NUMBER_BLOCK = 1000


@dataclass(frozen=True, slots=True)
class LiveSpec:
    stream_id: str
    source: LiveSource
    kind: str = "camera"


class LiveProducer:
    """Runs live streams until stopped; see the module docstring."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        publisher: FramePublisher,
        specs: Sequence[LiveSpec],
        options: LiveOptions,
        *,
        status_interval_s: float = 5.0,
    ) -> None:
        ids = [s.stream_id for s in specs]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"need at least one stream and distinct stream ids, got {ids}")
        self._sessions = sessions
        self._publisher = publisher
        self._specs = list(specs)
        self._options = options
        self._status_interval_s = status_interval_s
        self._streams: list[LiveStream] = []
        self._tick_meters: dict[str, RateMeter] = {}
        self._store_meters: dict[str, RateMeter] = {}
        self._fps: dict[str, float | None] = {}

    @property
    def streams(self) -> Sequence[LiveStream]:
        return self._streams

    def _config(self, spec: LiveSpec) -> dict[str, Any]:
        o = self._options
        config: dict[str, Any] = {
            "kind": spec.kind,
            "live": True,
            "target_fps": o.target_fps,
            "queue_frames": o.queue_frames,
            "max_in_flight": o.max_in_flight,
            "jpeg_quality": o.jpeg_quality,
            "frame_max_bytes": o.frame_max_bytes,
            "reconnect_initial_s": o.reconnect.initial_s,
            "reconnect_max_s": o.reconnect.max_s,
            "messages": "frames" if o.chunks is None else "video-chunks",
        }
        if o.chunks is not None:
            config |= {
                "chunk_seconds": o.chunks.seconds,
                "chunk_max_bytes": o.chunks.max_bytes,
                "chunk_crf": o.chunks.crf,
            }
        return config

    def _reserver(self, stream_id: str) -> Callable[[int], int]:
        def reserve(count: int) -> int:
            with session_scope(self._sessions) as session:
                return repository.reserve_frame_numbers(session, stream_id, count)

        return reserve

    def _register(self, stop: threading.Event) -> None:
        with session_scope(self._sessions) as session:
            for spec in self._specs:
                repository.register_stream(
                    session, spec.stream_id, spec.kind, spec.source.description, self._config(spec)
                )
                repository.record_stream_status(
                    session,
                    spec.stream_id,
                    state=StreamState.CONNECTING.value,
                    fps=None,
                    frames_dropped=0,
                    reconnects=0,
                    last_error=None,
                    last_seen_at=None,
                )
        for spec in self._specs:
            numbers = FrameNumbers(self._reserver(spec.stream_id), NUMBER_BLOCK)
            stream = LiveStream(
                spec.stream_id,
                spec.source,
                self._publisher,
                numbers=numbers,
                options=self._options,
                stop=stop,
            )
            self._streams.append(stream)
            log.info(
                "streaming %s",
                spec.source.description,
                extra={"stream_id": spec.stream_id, "config": self._config(spec)},
            )

    def statuses(self) -> list[StreamStatus]:
        return [
            StreamStatus(s.stream_id, s.figures(), self._fps.get(s.stream_id))
            for s in self._streams
        ]

    def _measure(self, meters: dict[str, RateMeter], now: float) -> dict[str, float | None]:
        """Each stream's publishing rate since the previous reading of ``meters``."""
        rates: dict[str, float | None] = {}
        for stream in self._streams:
            meter = meters.setdefault(stream.stream_id, RateMeter())
            rates[stream.stream_id] = meter.rate(now, stream.figures().published)
        return rates

    def _store(self, fps: dict[str, float | None], final: bool = False) -> None:
        """Store every stream's figures; a database error is logged, never fatal here."""
        try:
            with session_scope(self._sessions) as session:
                for stream in self._streams:
                    rate, f = fps.get(stream.stream_id), stream.figures()
                    state = f.state
                    if final and state is not StreamState.FAILED:
                        state = StreamState.STOPPED
                    seen = f.last_frame_at
                    repository.record_stream_status(
                        session,
                        stream.stream_id,
                        state=state.value,
                        fps=rate,
                        frames_dropped=f.dropped,
                        reconnects=f.reconnects,
                        last_error=f.last_error,
                        last_seen_at=None if seen is None else datetime.fromtimestamp(seen, UTC),
                    )
                    log.info(
                        "stream %s: %s fps, %d published, %d dropped, %d reconnects",
                        state.value,
                        "-" if rate is None else f"{rate:.1f}",
                        f.published,
                        f.dropped,
                        f.reconnects,
                        extra={"stream_id": stream.stream_id},
                    )
        except SQLAlchemyError as exc:
            log.error("cannot store live figures: %s", exc)

    def _release_numbers(self) -> None:
        for stream in self._streams:
            reserved, keep = stream.numbers.last_reserved, stream.numbers.keep_last
            if reserved is None or keep is None:
                continue
            try:
                with session_scope(self._sessions) as session:
                    repository.release_frame_numbers(session, stream.stream_id, reserved, keep)
            except SQLAlchemyError as exc:
                log.error(
                    "cannot give back unused frame numbers: %s",
                    exc,
                    extra={"stream_id": stream.stream_id},
                )

    def run(
        self,
        stop: threading.Event,
        on_tick: Callable[[Sequence[StreamStatus]], None] | None = None,
    ) -> int:
        """Run until ``stop`` is set; 0 on a clean stop, 1 if a stream failed or frames
        were not delivered."""
        self._register(stop)
        for stream in self._streams:
            stream.start()
        start = time.monotonic()
        next_tick, next_store = start + TICK_S, start + self._status_interval_s
        self._measure(self._tick_meters, start)
        self._measure(self._store_meters, start)
        try:
            while not stop.is_set():
                self._publisher.poll(POLL_S)
                now = time.monotonic()
                if now >= next_tick:
                    self._fps = self._measure(self._tick_meters, now)
                    if on_tick is not None:
                        on_tick(self.statuses())
                    next_tick = now + TICK_S
                if now >= next_store:
                    self._store(self._measure(self._store_meters, now))
                    next_store = now + self._status_interval_s
        finally:
            stop.set()
            code = self._shutdown()
        return code

    def _shutdown(self) -> int:
        code = 0
        for stream in self._streams:
            if not stream.join(JOIN_TIMEOUT_S):
                log.warning(
                    "capture did not end in %.0fs (a read is blocked); leaving it behind",
                    JOIN_TIMEOUT_S,
                    extra={"stream_id": stream.stream_id},
                )
                stream.abandon_capture()
                stream.join(JOIN_TIMEOUT_S)
            if stream.error is not None:
                code = 1
        try:
            stats = self._publisher.close(FLUSH_TIMEOUT_S)
            log.info("publisher flushed: %d frames delivered", stats.delivered)
        except DeliveryError as exc:
            log.error("frames lost at shutdown: %s", exc)
            code = 1
        self._release_numbers()
        self._store({}, final=True)
        return code


def live_options(
    settings: Settings, *, target_fps: float | None = None, chunks: bool = False
) -> LiveOptions:
    """Live options from the process settings; ``chunks`` sends H.264 chunks, not JPEG."""
    plan = ChunkPlan(settings.chunk_seconds, settings.chunk_max_bytes, settings.chunk_crf)
    return LiveOptions(
        target_fps=target_fps,
        queue_frames=settings.live_queue_frames,
        max_in_flight=settings.live_max_in_flight,
        jpeg_quality=settings.jpeg_quality,
        frame_max_bytes=frame_limit(settings.frame_max_bytes, settings.message_max_bytes),
        reconnect=BackoffPolicy(
            settings.live_reconnect_initial_s,
            max(settings.live_reconnect_max_s, settings.live_reconnect_initial_s),
        ),
        report_interval_s=settings.live_status_interval_s,
        chunks=plan if chunks else None,
        chunk_limit=settings.message_max_bytes - RECORD_OVERHEAD,
    )


def run_live(
    settings: Settings,
    bootstrap: str,
    sessions: sessionmaker[Session],
    specs: Sequence[LiveSpec],
    stop: threading.Event,
    *,
    target_fps: float | None = None,
    chunks: bool = False,
    on_tick: Callable[[Sequence[StreamStatus]], None] | None = None,
) -> int:
    """Publish ``specs`` with one shared publisher until ``stop`` is set; the exit code.

    Frames go to the ``frames`` topic as JPEG, or with ``chunks`` to ``video-chunks``.
    """
    topic = settings.topics.video_chunks if chunks else settings.topics.frames
    publisher = FramePublisher(bootstrap, topic, settings.message_max_bytes)
    producer = LiveProducer(
        sessions,
        publisher,
        specs,
        live_options(settings, target_fps=target_fps, chunks=chunks),
        status_interval_s=settings.live_status_interval_s,
    )
    registry = CollectorRegistry()
    registry.register(LiveFiguresCollector(producer.statuses))
    server = serve_metrics(registry, settings.live_metrics_host, settings.live_metrics_port)
    try:
        return producer.run(stop, on_tick)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
