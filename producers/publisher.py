"""Publishing frames to Kafka with the confluent producer.

One :class:`FramePublisher` serves every stream of a process: the librdkafka producer is
thread-safe, batches across streams over one connection per broker, and keeps each
partition's messages in order, so frames of one stream (produced from one thread) stay in
order. One producer per stream would multiply connections, buffers and I/O threads.

Idempotent, acks=all. When the local queue is full, :meth:`FramePublisher.publish` waits
(``poll``) rather than dropping: lossless for files. Live streams do their dropping before
the publisher, in a drop-oldest queue, and bound how many of their frames may wait for the
broker (``max_in_flight``): without that bound librdkafka would buffer up to its own limits
(100,000 messages, 1 GiB) while the broker is slow or away, and a live stream would fall
minutes behind instead of dropping stale frames. Delivery errors are counted per stream and
logged with the stream id; :meth:`FramePublisher.close` flushes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from confluent_kafka import KafkaError, Message, Producer

from schemas.frames import FrameMessage
from schemas.video_chunks import VideoChunk

__all__ = ["DeliveryError", "FramePublisher", "PublishStats", "frame_limit"]

log = logging.getLogger(__name__)

_FULL_QUEUE_POLL_S = 0.1
# Room left in a Kafka message for the record batch framing and the key.
RECORD_OVERHEAD = 1024


def frame_limit(frame_max_bytes: int, message_max_bytes: int) -> int:
    """The most bytes a frame message may take: its own limit, within the Kafka one."""
    return min(frame_max_bytes, message_max_bytes - RECORD_OVERHEAD)


class DeliveryError(RuntimeError):
    """Some messages could not be delivered."""


@dataclass(frozen=True, slots=True)
class PublishStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0

    def __add__(self, other: PublishStats) -> PublishStats:
        return PublishStats(
            self.sent + other.sent,
            self.delivered + other.delivered,
            self.failed + other.failed,
        )


class FramePublisher:
    """Frames to ``topic``, keyed by stream id; safe to share between threads."""

    def __init__(self, bootstrap: str, topic: str, max_message_bytes: int) -> None:
        self._topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.max.bytes": max_message_bytes,
            }
        )
        self._lock = threading.Lock()
        self._streams: dict[str, PublishStats] = {}

    def _count(self, stream_id: str, **changes: int) -> None:
        with self._lock:
            stats = self._streams.get(stream_id, PublishStats())
            bumped = {name: getattr(stats, name) + n for name, n in changes.items()}
            self._streams[stream_id] = replace(stats, **bumped)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        key = msg.key()
        stream_id = key.decode(errors="replace") if key else ""
        if err is not None:
            self._count(stream_id, failed=1)
            log.error(
                "delivery failed: %s",
                err,
                extra={"stream_id": stream_id, "topic": msg.topic()},
            )
            return
        self._count(stream_id, delivered=1)

    @property
    def stats(self) -> PublishStats:
        """Totals over every stream."""
        with self._lock:
            return sum(self._streams.values(), PublishStats())

    def stream_stats(self, stream_id: str) -> PublishStats:
        with self._lock:
            return self._streams.get(stream_id, PublishStats())

    def in_flight(self, stream_id: str) -> int:
        """Messages of ``stream_id`` handed to the producer and not yet acknowledged."""
        stats = self.stream_stats(stream_id)
        return stats.sent - stats.delivered - stats.failed

    def publish(
        self,
        frame: FrameMessage | VideoChunk,
        stop: threading.Event | None = None,
        *,
        max_in_flight: int | None = None,
    ) -> bool:
        """Queue one frame or chunk, waiting while the local queue is full (lossless) or
        while ``max_in_flight`` messages of its stream await acknowledgement.

        Returns False, without queuing, only if ``stop`` is set while it waits.
        """
        value, key = frame.to_bytes(), frame.stream_id.encode()
        if max_in_flight is not None:
            while self.in_flight(frame.stream_id) >= max_in_flight:
                if stop is not None and stop.is_set():
                    return False
                self._producer.poll(_FULL_QUEUE_POLL_S)
        while True:
            try:
                self._producer.produce(
                    self._topic, value=value, key=key, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                if stop is not None and stop.is_set():
                    return False
                self._producer.poll(_FULL_QUEUE_POLL_S)
        self._count(frame.stream_id, sent=1)
        self._producer.poll(0)
        return True

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery reports for up to ``timeout`` seconds."""
        served: int = self._producer.poll(timeout)
        return served

    def close(self, timeout: float = 30.0) -> PublishStats:
        """Flush everything queued, then shut the producer down (its threads and connections
        end now, not when the object is collected); raises :class:`DeliveryError` if
        anything was lost. The publisher cannot be used afterwards."""
        remaining = self._producer.flush(timeout)
        stats = self.stats
        if remaining:
            self._producer.purge()  # given up on: reported below, not retried by close()
        self._producer.close()
        if remaining or stats.failed:
            raise DeliveryError(
                f"{stats.failed} frames failed and {remaining} undelivered of {stats.sent}"
            )
        return stats
