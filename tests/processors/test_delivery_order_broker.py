"""Against the real broker: records that never reach the agent are read again from the
broker, taken in order, each once, and the consumer commits through them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import faust
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from infra.broker import BundledBroker
from processors.app import _faust_app
from processors.faust_app import RewindingConsumer
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration

RECORDS = 60


def _publish(bootstrap: str, topic: str) -> int:
    """The records 0..RECORDS-1 under one key; the partition they went to."""
    partitions: set[int | None] = set()
    producer = Producer({"bootstrap.servers": bootstrap})
    for offset in range(RECORDS):
        producer.produce(
            topic,
            key=b"s",
            value=str(offset).encode(),
            on_delivery=lambda _, message: partitions.add(message.partition()),
        )
    assert producer.flush(30) == 0
    (partition,) = partitions
    assert partition is not None
    return partition


def _commit(bootstrap: str, group: str, topic: str, partition: int, offset: int) -> None:
    """Commit ``offset`` for ``group``, as a worker that took the records before it would."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(topic, partition, offset)], asynchronous=False)
    finally:
        consumer.close()


def _committed(bootstrap: str, group: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        (tp,) = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


async def _take_all(
    settings: Settings, bootstrap: str, queue_size: int | None, lost: range, count: int
) -> tuple[list[int], set[int]]:
    """The records the agent took, in order, until ``count``, and the partitions they came
    from; ``lost`` are dropped on the way the first time, as Faust may drop records."""
    app = _faust_app(settings, bootstrap)
    if queue_size is not None:
        app.conf.stream_buffer_maxsize = queue_size
    topic = settings.topics.frames
    source = app.topic(topic, key_type=bytes, value_type=bytes, value_serializer="raw")
    taken: list[int] = []
    partitions: set[int] = set()
    lost_once: set[int] = set()
    done = asyncio.Event()

    @app.agent(source)
    async def take(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        consumer = app.consumer
        assert isinstance(consumer, RewindingConsumer)
        async for events in stream.take_events(10, 0.2):
            for event in events:
                offset = event.message.offset
                if offset in lost and offset not in lost_once:
                    lost_once.add(offset)  # never reaches the check; acked with the take
                    continue
                if await consumer.admit(event.message):
                    taken.append(int(event.value))
                    partitions.add(event.message.partition)
            if len(taken) >= count:
                done.set()

    await app.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=90)
        await app.consumer.commit()
    finally:
        await app.stop()
    return taken, partitions


# With a queue of 4, Faust's fetch loop waits to hand the stream a record most of the time,
# as in a backlog: the agent's seek back comes while it waits, and the loop then moves the
# read offset past the seek's target (without RewindingConsumer._restore_read_offset,
# every record read again was dropped and the test timed out). With 30 committed before
# the worker starts, the first records it is given are the ones lost: without the check
# that a partition starts at its committed offset, 30-34 were never taken.
@pytest.mark.parametrize(
    ("queue_size", "committed", "lost"),
    [(None, 0, range(20, 30)), (4, 0, range(20, 30)), (None, 30, range(30, 35))],
    ids=["default-queue", "full-queue", "first-records"],
)
def test_records_lost_on_the_way_are_read_again_in_order_and_committed(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    queue_size: int | None,
    committed: int,
    lost: range,
) -> None:
    # The worker's own Faust app (its consumer, flow control and fetch wait).
    settings = make_settings(consumer_fetch_max_wait_ms=50)
    settings.data_dir.mkdir(parents=True)  # the worker's models are there before its app
    topic, group, bootstrap = settings.topics.frames, settings.worker_id, broker.bootstrap_servers
    partition = _publish(bootstrap, topic)
    if committed:
        _commit(bootstrap, group, topic, partition, committed)
    count = RECORDS - committed
    taken, partitions = asyncio.run(_take_all(settings, bootstrap, queue_size, lost, count))
    assert taken == list(range(committed, RECORDS))  # in order, each once, the lost included
    assert partitions == {partition}
    assert _committed(bootstrap, group, topic, partition) == RECORDS
