"""Analytics sink: per-frame tracks and analytics events from Kafka into ClickHouse, job
progress into the database.

At-least-once: offsets are committed after the batch is stored, and the ClickHouse tables
collapse a frame or event written twice. When ClickHouse or the database fail, the batch
is retried with backoff (partitions paused, the consumer still in its group) until it is
stored; nothing is skipped. Job progress is counted from the stored frames, so a
replayed batch cannot inflate it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from clickhouse_connect.driver.exceptions import ClickHouseError
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from processors.consumer_lag import PartitionOffsets
from processors.pipeline.dead_letters import dead_letter
from processors.sink.metrics import SinkMetrics
from schemas.codec import MessageDecodeError
from schemas.events import FrameEvents
from schemas.jobs import JobProgress, JobState
from schemas.tracks import FrameTracks
from visiontrack import repository
from visiontrack.analytics_store import AnalyticsStore
from visiontrack.backoff import Backoff, BackoffPolicy
from visiontrack.db import session_scope
from visiontrack.settings import Settings

__all__ = ["AnalyticsSink", "SinkStats"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SinkStats:
    frames_written: int = 0
    events_written: int = 0
    batches: int = 0
    retries: int = 0
    dead_letters: int = 0
    last_batch_at: float | None = None
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    """What one consume gave, decoded."""

    frames: list[FrameTracks] = field(default_factory=list)
    events: list[FrameEvents] = field(default_factory=list)

    def add(self, other: _Batch) -> None:
        self.frames += other.frames
        self.events += other.events

    def streams(self) -> list[str]:
        return sorted({f.stream_id for f in self.frames} | {e.stream_id for e in self.events})


class AnalyticsSink:
    """Consumes the tracks topic in a background thread until :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        store: AnalyticsStore,
        sessions: sessionmaker[Session],
        metrics: SinkMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._store = store
        self._sessions = sessions
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry = BackoffPolicy(settings.sink_retry_initial_s, settings.sink_retry_max_s)
        self.stats = SinkStats()
        self.metrics = metrics or SinkMetrics(group=settings.sink_group_id)

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
                "fetch.wait.max.ms": s.consumer_fetch_max_wait_ms,
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
        committed = True  # everything consumed so far is committed
        try:
            while not self._stop.is_set():
                messages = consumer.consume(s.sink_batch_size, timeout=s.sink_batch_interval_s)
                if messages:
                    batch = self._decode(messages, producer)
                    if not self._store_until_done(batch, consumer, producer):
                        break  # stopped before the batch was stored: nothing committed
                    committed = self._commit(consumer)
                    producer.poll(0)
                if committed:
                    self._report_lag(consumer)
        finally:
            producer.flush(10)
            producer.close()  # now, not at garbage collection
            consumer.close()
            log.info("analytics sink stopped", extra={"frames_written": self.stats.frames_written})

    def _decode(self, messages: Sequence[Message], producer: Producer) -> _Batch:
        """The batch's frames and events; undecodable records go to the dead-letter topic."""
        batch = _Batch()
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.error("consumer error: %s", error)
                continue
            try:
                if msg.topic() == self._settings.topics.events:
                    batch.events.append(FrameEvents.from_bytes(msg.value() or b""))
                else:
                    batch.frames.append(FrameTracks.from_bytes(msg.value() or b""))
            except MessageDecodeError as exc:
                self._dead_letter(msg, producer, str(exc))
        return batch

    def _store_until_done(self, batch: _Batch, consumer: Consumer, producer: Producer) -> bool:
        """Store ``batch``, retrying with backoff while ClickHouse or the database fail.

        Every write is idempotent (rows collapse by key, progress is recounted), so a retry
        after a partial success is safe. The consumer's partitions are paused meanwhile and
        it keeps polling, so it stays in its group. Returns False if stopped first.
        """
        backoff = Backoff(self._retry)
        while True:
            try:
                self._write(batch, producer)
                break
            except (ClickHouseError, SQLAlchemyError) as exc:
                delay = backoff.next_delay()
                self.stats.retries += 1
                self.metrics.retries.inc()
                self.stats.errors.append(repr(exc))
                log.error(
                    "storing %d frames and %d events failed, retrying in %.1fs: %s",
                    len(batch.frames),
                    len(batch.events),
                    delay,
                    exc,
                    extra={"attempt": backoff.attempt, "streams": batch.streams()},
                )
                if not self._wait_paused(consumer, delay, batch, producer):
                    return False
        if backoff.attempt:
            log.info("storing works again", extra={"retries": backoff.attempt})
        return True

    def _wait_paused(
        self, consumer: Consumer, delay: float, batch: _Batch, producer: Producer
    ) -> bool:
        """Wait ``delay`` seconds with the assignment paused; False if stopped meanwhile."""
        assignment = consumer.assignment()
        consumer.pause(assignment)
        try:
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                if self._stop.is_set():
                    return False
                late = consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
                if late is not None:  # not expected while paused; never skip one
                    batch.add(self._decode([late], producer))
            return True
        finally:
            consumer.resume(assignment)

    def _commit(self, consumer: Consumer) -> bool:
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            # A rebalance during a long retry: the new owner re-reads the batch, and the
            # stored rows collapse with the ones written here.
            log.warning("offsets not committed: %s", exc)
            return False
        return True

    def _report_lag(self, consumer: Consumer) -> None:
        """The lag of the sink's partitions, called only when everything consumed is
        committed (so the consumer's positions are its committed offsets). The end offsets
        are the ones the last fetch responses carried: no request is made."""
        offsets = []
        try:
            for tp in consumer.position(consumer.assignment()):
                _, end = consumer.get_watermark_offsets(tp, cached=True)
                offsets.append(PartitionOffsets(tp.topic, tp.partition, end, tp.offset))
        except KafkaException as exc:
            # A partition librdkafka no longer knows (revoked meanwhile): the figure waits
            # for the next report; the sink goes on.
            log.warning("consumer lag not reported: %s", exc)
            return
        self.metrics.consumer_lag.record(offsets)

    def _write(self, batch: _Batch, producer: Producer) -> None:
        started = time.perf_counter()
        self._store.insert_events(batch.events)
        self._store.insert_frames(batch.frames)
        if batch.frames:
            self._record_progress(batch.frames, producer)
        events = sum(len(e.events) for e in batch.events)
        self.metrics.observe_stored(batch.frames, events, time.perf_counter() - started)
        self.stats.events_written += events
        self.stats.frames_written += len(batch.frames)
        self.stats.batches += 1
        self.stats.last_batch_at = time.time()

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
        self.metrics.dead_letters.labels("sink").inc()
