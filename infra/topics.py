"""Topics the project creates itself, with explicit partitions and ``max.message.bytes``."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from visiontrack.settings import Settings

__all__ = ["TopicSpec", "default_partition", "ensure_topics", "spread_stream_ids", "topic_specs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    max_message_bytes: int


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """All pipeline topics. Stream topics share the partition count (co-partitioned)."""
    t, n, size = settings.topics, settings.topic_partitions, settings.message_max_bytes
    return [
        TopicSpec(t.frames, n, size),
        TopicSpec(t.video_chunks, n, size),
        TopicSpec(t.tracks, n, size),
        TopicSpec(t.job_progress, n, 1024 * 1024),
        TopicSpec(t.dead_letter, n, size),
        TopicSpec(t.events, n, 1024 * 1024),
    ]


def default_partition(key: str, partitions: int) -> int:
    """The partition librdkafka's default partitioner (CRC32 of the key) gives a stream id."""
    return zlib.crc32(key.encode()) % partitions


def spread_stream_ids(prefix: str, count: int, partitions: int) -> list[str]:
    """Up to ``count`` stream ids ``<prefix>-<n>``, each on a partition of its own (at most
    one per partition), so that as many workers can each own one: for tests and benchmarks."""
    ids: dict[int, str] = {}
    n = 0
    while len(ids) < min(count, partitions):
        name = f"{prefix}-{n}"
        ids.setdefault(default_partition(name, partitions), name)
        n += 1
    return list(ids.values())


def ensure_topics(settings: Settings, bootstrap: str, timeout: float = 30.0) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left as they are."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [s for s in topic_specs(settings) if s.name not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=settings.topic_replication_factor,
                config={"max.message.bytes": str(s.max_message_bytes)},
            )
            for s in wanted
        ],
        operation_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    log.info("topics created", extra={"topics": created})
    return created
