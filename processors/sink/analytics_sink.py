"""Analytics sink: per-frame tracks and analytics events from Kafka into ClickHouse, job
progress into the database.

At-least-once: offsets are committed after the batch is stored, and the ClickHouse table
collapses a frame written twice. Job progress is counted from the stored frames, so a
replayed batch cannot inflate it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Message, Producer
from sqlalchemy.orm import Session, sessionmaker

from processors.pipeline.dead_letters import dead_letter
from schemas.codec import MessageDecodeError
from schemas.events import FrameEvents
from schemas.jobs import JobProgress, JobState
from schemas.tracks import FrameTracks
from visiontrack import repository
from visiontrack.analytics_store import AnalyticsStore
from visiontrack.db import session_scope
from visiontrack.settings import Settings

__all__ = ["AnalyticsSink", "SinkStats"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SinkStats:
    frames_written: int = 0
    events_written: int = 0
    batches: int = 0
    dead_letters: int = 0
    last_batch_at: float | None = None
    errors: list[str] = field(default_factory=list)


class AnalyticsSink:
    """Consumes the tracks topic in a background thread until :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        store: AnalyticsStore,
        sessions: sessionmaker[Session],
    ) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._store = store
        self._sessions = sessions
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = SinkStats()

    # Lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="analytics-sink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # Loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        s = self._settings
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": s.sink_group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(s.broker_session_timeout_s * 1000),
                "heartbeat.interval.ms": int(s.broker_heartbeat_interval_s * 1000),
                "max.partition.fetch.bytes": s.message_max_bytes,
                "fetch.max.bytes": max(s.message_max_bytes, 50 * 1024 * 1024),
            }
        )
        producer = Producer(
            {
                "bootstrap.servers": self._bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "message.max.bytes": s.message_max_bytes,
            }
        )
        consumer.subscribe([s.topics.tracks, s.topics.events])
        log.info("analytics sink started", extra={"topics": [s.topics.tracks, s.topics.events]})
        try:
            while not self._stop.is_set():
                messages = consumer.consume(s.sink_batch_size, timeout=s.sink_batch_interval_s)
                if not messages:
                    continue
                self._handle(messages, producer)
                consumer.commit(asynchronous=False)
                producer.poll(0)
        finally:
            producer.flush(10)
            consumer.close()
            log.info("analytics sink stopped", extra={"frames_written": self.stats.frames_written})

    def _handle(self, messages: Sequence[Message], producer: Producer) -> None:
        frames: list[FrameTracks] = []
        events: list[FrameEvents] = []
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.error("consumer error: %s", error)
                continue
            try:
                if msg.topic() == self._settings.topics.events:
                    events.append(FrameEvents.from_bytes(msg.value() or b""))
                else:
                    frames.append(FrameTracks.from_bytes(msg.value() or b""))
            except MessageDecodeError as exc:
                self._dead_letter(msg, producer, str(exc))
        self._store.insert_events(events)
        self.stats.events_written += sum(len(e.events) for e in events)
        if not frames:
            return
        self._store.insert_frames(frames)
        self.stats.frames_written += len(frames)
        self.stats.batches += 1
        self.stats.last_batch_at = time.time()
        self._record_progress(frames, producer)

    def _record_progress(self, frames: Sequence[FrameTracks], producer: Producer) -> None:
        totals: dict[str, int | None] = {}
        streams: dict[str, str] = {}
        for f in frames:
            if not f.job_id:
                continue
            streams[f.job_id] = f.stream_id
            if f.total_frames is not None:
                totals[f.job_id] = f.total_frames
            else:
                totals.setdefault(f.job_id, None)
        if not totals:
            return
        counts = self._store.job_frame_counts(list(totals))
        updates = []
        with session_scope(self._sessions) as session:
            for job_id, total in totals.items():
                job = repository.record_progress(session, job_id, counts.get(job_id, 0), total)
                if job is None:
                    log.warning("progress for unknown job", extra={"job_id": job_id})
                    continue
                updates.append(
                    JobProgress(
                        job_id=job.id,
                        stream_id=streams[job_id],
                        state=JobState(job.state),
                        frames_processed=job.frames_processed,
                        total_frames=job.total_frames,
                        updated_at=time.time(),
                    )
                )
        for progress in updates:
            producer.produce(
                self._settings.topics.job_progress,
                key=progress.stream_id.encode(),
                value=progress.to_bytes(),
            )

    def _dead_letter(self, msg: Message, producer: Producer, reason: str) -> None:
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        log.warning(
            "dead letter: %s",
            reason,
            extra={"topic": topic, "partition": partition, "offset": offset, "stage": "sink"},
        )
        record = dead_letter(
            topic=topic,
            partition=partition,
            offset=offset,
            key=msg.key(),
            payload=msg.value() or b"",
            stage="sink",
            reason=reason,
        )
        producer.produce(self._settings.topics.dead_letter, key=msg.key(), value=record.to_bytes())
        self.stats.dead_letters += 1
