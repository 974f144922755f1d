"""Against the real broker: records that never reach the agent are read again from the
broker, taken in order, each once, and the consumer commits through them; records its
stream skipped as of an older consumer generation are left to the partition's next
owner; a partition given anew starts at its committed offset, though the client had got
further on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import faust
import faust.streams
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

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
    settings: Settings,
    bootstrap: str,
    queue_size: int | None,
    lost: range,
    count: int,
    *,
    with_table: bool = False,
) -> tuple[list[int], set[int]]:
    """The records the agent took, in order, until ``count``, and the partitions they came
    from; ``lost`` are dropped on the way the first time, as Faust may drop records.
    ``with_table``: the app has a table, as the worker does (its recovery turns flow on
    before the stream partitions are sought)."""
    app = _faust_app(settings, bootstrap)
    if with_table:
        app.Table("take-all", key_type=str, value_type=int)
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


async def _take_across_a_new_generation(
    settings: Settings, bootstrap: str, partition: int
) -> list[int]:
    """The records the agent took when, 20 taken and every record read into the stream's
    queue, the consumer's generation moved on, as at the end of a rebalance: the stream
    skips the records still queued from the generation before. The app then stops,
    committing what it may."""
    app = _faust_app(settings, bootstrap)
    topic = settings.topics.frames
    source = app.topic(topic, key_type=bytes, value_type=bytes, value_serializer="raw")
    taken: list[int] = []
    queues: list[asyncio.Queue[Any]] = []  # the agent's stream's
    consumer = app.consumer
    assert isinstance(consumer, RewindingConsumer)

    def all_read() -> bool:
        return consumer._read_offset.get(TP(topic, partition)) == RECORDS - 1

    @app.agent(source)
    async def take(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        queues.append(cast(faust.ChannelT[bytes], stream.channel).queue)
        async for events in stream.take_events(10, 0.2):
            while not all_read():
                await asyncio.sleep(0.01)
            for event in events:
                if await consumer.admit(event.message):
                    taken.append(int(event.value))
            if len(taken) >= 20 and not moved_on.is_set():
                app.consumer_generation_id += 1
                moved_on.set()

    moved_on = asyncio.Event()
    await app.start()
    try:
        async with asyncio.timeout(60):
            await moved_on.wait()
            while not queues[0].empty():
                await asyncio.sleep(0.01)
    finally:
        await app.stop()
    return taken


# Faust's stream iterator skips the records it reads while flow is suspended or of an older
# consumer generation. Its compiled extension leaves them unacknowledged; its pure-Python
# iterator (NO_CYTHON=1, or where the extension is not built) acknowledges them as if
# taken, so the commit passed them and the partition's next owner started after them.
@pytest.mark.parametrize("pure_python", [False, True], ids=["faust-extension", "pure-python"])
def test_records_of_an_older_generation_the_stream_skipped_go_to_the_next_owner(
    broker: BundledBroker,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    pure_python: bool,
) -> None:
    if pure_python:
        monkeypatch.setattr(faust.streams, "_CStreamIterator", None)
    settings = make_settings(consumer_fetch_max_wait_ms=50)
    settings.data_dir.mkdir(parents=True)
    topic, group, bootstrap = settings.topics.frames, settings.worker_id, broker.bootstrap_servers
    partition = _publish(bootstrap, topic)
    before = asyncio.run(_take_across_a_new_generation(settings, bootstrap, partition))
    committed = _committed(bootstrap, group, topic, partition)
    assert 20 <= committed < RECORDS
    assert before == list(range(committed))  # the commit passed only records taken
    after, _ = asyncio.run(_take_all(settings, bootstrap, None, range(0), RECORDS - committed))
    assert before + after == list(range(RECORDS))
    assert _committed(bootstrap, group, topic, partition) == RECORDS


def _past_the_commit_and_sought_late(tp: TP, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tp``, given anew, has its client position past the committed offset when the
    rebalance resumes it, and its seek to the committed offset answers a second late; the
    fetch loop runs from the assignment on, as in a worker past its first, where the loop
    never stops."""
    assigned = RewindingConsumer.on_partitions_assigned
    sought = aiokafka_driver.Consumer.seek_to_committed

    async def assigned_past_the_commit(
        self: RewindingConsumer, partitions: set[TP], generation_id: int = 0
    ) -> None:
        if tp in partitions:
            await self.seek(tp, 45)  # where the client had got to
        await assigned(self, partitions, generation_id)
        await cast(faust.App, self.app)._fetcher.maybe_start()  # running, as after a first one

    async def slow_seek(self: RewindingConsumer) -> Any:
        await asyncio.sleep(1.0)
        return await sought(self)

    monkeypatch.setattr(RewindingConsumer, "on_partitions_assigned", assigned_past_the_commit)
    monkeypatch.setattr(aiokafka_driver.Consumer, "seek_to_committed", slow_seek)


def test_a_partition_given_anew_starts_at_its_commit_though_fetched_from_further_on_first(
    broker: BundledBroker, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faust resumes the stream partitions and then seeks them to their committed offsets,
    # with flow on: what the client fetched from where it was in between reached the agent
    # first, and the records between the commit and it came after, out of order.
    settings = make_settings(consumer_fetch_max_wait_ms=50)
    settings.data_dir.mkdir(parents=True)
    topic, group, bootstrap = settings.topics.frames, settings.worker_id, broker.bootstrap_servers
    partition = _publish(bootstrap, topic)
    _commit(bootstrap, group, topic, partition, 30)
    _past_the_commit_and_sought_late(TP(topic, partition), monkeypatch)
    taken, _ = asyncio.run(
        _take_all(settings, bootstrap, None, range(0), RECORDS - 30, with_table=True)
    )
    assert taken[: RECORDS - 30] == list(range(30, RECORDS))
