"""Reading topics back in tests: a consumer of its own from the earliest offset."""

from __future__ import annotations

import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def earliest_consumer(bootstrap: str, topic: str, timeout: float = 10.0) -> Consumer:
    """A consumer of every partition of ``topic`` from the start, committing nothing.

    It is assigned the partitions rather than joining a group of its own, which takes about
    3 s on the bundled broker before the first record: the topic must exist.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",  # never joined: nothing commits
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(topic, timeout=timeout).topics[topic]
    if metadata.error is not None or not metadata.partitions:
        consumer.close()
        raise RuntimeError(f"cannot read topic {topic!r}: {metadata.error or 'no partitions'}")
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
    return consumer
