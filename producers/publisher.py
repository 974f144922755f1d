"""Publishing frames to Kafka with the confluent producer.

Idempotent, acks=all. Lossless policy for files: when the local queue is full the
producer waits (``poll``) rather than dropping. Delivery errors are counted and logged
with the stream id; :meth:`FramePublisher.close` flushes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from schemas.frames import FrameMessage

__all__ = ["DeliveryError", "FramePublisher", "PublishStats"]

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """Some messages could not be delivered."""


@dataclass(slots=True)
class PublishStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0


class FramePublisher:
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
        self.stats = PublishStats()

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.stats.failed += 1
            key = msg.key()
            log.error(
                "delivery failed: %s",
                err,
                extra={"stream_id": key.decode() if key else None, "topic": msg.topic()},
            )
            return
        self.stats.delivered += 1

    def publish(self, frame: FrameMessage) -> None:
        """Queue one frame; waits while the local queue is full (lossless)."""
        value, key = frame.to_bytes(), frame.stream_id.encode()
        while True:
            try:
                self._producer.produce(
                    self._topic, value=value, key=key, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self.stats.sent += 1
        self._producer.poll(0)

    def close(self, timeout: float = 30.0) -> PublishStats:
        """Flush everything queued; raises :class:`DeliveryError` if anything was lost."""
        remaining = self._producer.flush(timeout)
        if remaining or self.stats.failed:
            raise DeliveryError(
                f"{self.stats.failed} frames failed and {remaining} undelivered "
                f"of {self.stats.sent}"
            )
        return self.stats
