"""Reading topics back in tests: a consumer of its own from the earliest offset."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer


def earliest_consumer(bootstrap: str, topic: str) -> Consumer:
    """A consumer of ``topic`` in a group of its own, from the start, committing nothing."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    return consumer
