"""The worker's Faust app: records fetched while a partition was paused are read again,
stream queues keep their events when flow resumes after a rebalance, an agent takes a
partition's records in order (a gap is read again, the record after it held back), and
the consumer fetches with the app's fetch wait; its producer lingers as the settings say."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition  # type: ignore[import-untyped]
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP
from faust.types.tuples import ConsumerMessage
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from processors.app import _faust_app
from processors.faust_app import (
    KeepQueuesOnResume,
    RewindingConsumer,
    WorkerApp,
    WorkerConsumerThread,
    rewind_offset,
    skipped_records,
)
from visiontrack.settings import Settings


def _queue_after_a_rebalance(flow_control: FlowControlEvent) -> FlowControlQueue[int]:
    """A stream queue that got events between the seek to committed offsets and the
    resumption of flow, then saw flow resume."""
    queue: FlowControlQueue[int] = FlowControlQueue(
        maxsize=100, flow_control=flow_control, clear_on_resume=True
    )
    flow_control.suspend()  # revoked
    flow_control.clear()
    flow_control.resume()  # tables recovered: changelogs are read with flow on
    for offset in range(161, 182):  # fetched after the seek
        queue.put_nowait(offset)
    flow_control.resume()  # the end of the rebalance
    return queue


def test_stock_flow_control_drops_what_was_fetched_before_it_resumed() -> None:
    # The Faust behaviour the worker app works around: if this starts failing, Faust has
    # changed and processors/flow_control.py may no longer be needed.
    async def run() -> int:
        return _queue_after_a_rebalance(FlowControlEvent()).qsize()

    assert asyncio.run(run()) == 0


def test_the_worker_app_keeps_what_was_fetched_before_flow_resumed() -> None:
    async def run() -> list[int]:
        queue = _queue_after_a_rebalance(KeepQueuesOnResume())
        return [queue.get_nowait() for _ in range(queue.qsize())]

    assert asyncio.run(run()) == list(range(161, 182))


def test_revoking_still_clears_the_queues() -> None:
    async def run() -> int:
        flow_control = KeepQueuesOnResume()
        queue: FlowControlQueue[int] = FlowControlQueue(
            maxsize=10, flow_control=flow_control, clear_on_resume=True
        )
        queue.put_nowait(1)
        flow_control.suspend()
        flow_control.clear()
        flow_control.resume()
        return queue.qsize()

    assert asyncio.run(run()) == 0


def test_the_worker_app_uses_it() -> None:
    async def run() -> FlowControlEvent:
        app = WorkerApp("flow-control-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        return app.flow_control

    flow_control = asyncio.run(run())
    assert isinstance(flow_control, KeepQueuesOnResume)
    assert flow_control.is_active() is False  # Faust starts suspended, as before


@pytest.mark.parametrize(
    ("last_delivered", "read_offset", "expected"),
    [
        # Nothing of the fetch delivered; the read offset is where the fetch began (a
        # seek put it there) or the record before it: read again from there.
        (None, 152, 152),
        (None, 151, 151),
        # Delivered up to 153: read again from the read offset, the last delivered record.
        (153, 153, 153),
        # A seek to the committed offsets (148) since the fetch: back to it, not forward.
        (153, 148, 148),
        (None, 148, 148),
    ],
)
def test_a_partition_is_read_again_from_where_delivery_stopped(
    last_delivered: int | None, read_offset: int, expected: int
) -> None:
    assert rewind_offset(152, 175, last_delivered, read_offset) == expected


def test_no_seek_when_everything_was_delivered_or_the_partition_is_going() -> None:
    assert rewind_offset(152, 175, 175, 175) is None  # all delivered
    assert rewind_offset(152, 175, None, None) is None  # revoked: the rebalance seeks
    assert rewind_offset(152, 175, 160, 170) is None  # moved ahead since: not ours to undo


def test_the_worker_app_consumes_with_the_rewinding_consumer() -> None:
    async def run() -> type:
        app = WorkerApp("rewind-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        return app.transport.Consumer

    assert asyncio.run(run()) is RewindingConsumer


def test_a_jump_past_the_next_offset_is_taken_for_skipped_records() -> None:
    assert skipped_records(151, 176) == 24  # 152-175 never delivered
    assert skipped_records(151, 153) == 1  # 152
    assert skipped_records(151, 152) == 0  # the next one
    assert skipped_records(152, 152) == 0  # where a seek put the partition
    assert skipped_records(152, 153) == 0  # one past a seek target: Faust's rule too
    assert skipped_records(None, 176) == 0  # nothing read since the partition came
    assert skipped_records(0, 176) == 0  # Faust registers no gap after offset 0 either


@dataclass
class _FakedBroker:
    """What the consumer would ask the broker: the assignment and earliest offset it
    answers, and the seeks made."""

    assigned: set[TP]
    earliest: int = 0
    seeks: list[tuple[TP, int]] = field(default_factory=list)

    def consumer(self, monkeypatch: pytest.MonkeyPatch, name: str) -> RewindingConsumer:
        """A worker app's consumer, for topics that are acked as an agent's are; to be
        made in a running event loop."""
        app = WorkerApp(name, broker="kafka://127.0.0.1:1", web_enabled=False)
        app.topics.acking_topics.update(tp.topic for tp in self.assigned)
        consumer = app.consumer
        assert isinstance(consumer, RewindingConsumer)
        monkeypatch.setattr(consumer, "seek", self._seek)
        monkeypatch.setattr(consumer, "assignment", lambda: self.assigned)
        monkeypatch.setattr(consumer, "earliest_offsets", self._earliest_offsets)
        return consumer

    async def _seek(self, partition: TP, offset: int) -> None:
        self.seeks.append((partition, offset))

    async def _earliest_offsets(self, *partitions: TP) -> dict[TP, int]:
        return dict.fromkeys(partitions, self.earliest)


def test_records_skipped_by_a_jump_are_read_again_and_counted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 3)
    broker = _FakedBroker({tp})

    async def run() -> tuple[bool, Counter[str], Counter[str]]:
        consumer = broker.consumer(monkeypatch, "dropped-test")
        consumer._read_offset[tp] = 151
        reread = await consumer._reread_skipped(tp, 176)
        return reread, consumer.take_dropped(), consumer.take_dropped()

    reread, dropped, after = asyncio.run(run())
    assert reread and broker.seeks == [(tp, 151)]
    assert dropped == {"vt.frames": 24}  # 152-175
    assert after == {}  # taken


def test_the_worker_consumer_fetches_with_the_apps_wait_not_faust_fixed_one() -> None:
    async def run() -> int:
        app = WorkerApp(
            "fetch-wait-test",
            broker="kafka://127.0.0.1:1",
            web_enabled=False,
            fetch_max_wait_ms=120,
        )
        consumer = app.consumer
        assert isinstance(consumer, RewindingConsumer)
        thread = consumer._thread
        assert isinstance(thread, WorkerConsumerThread)
        client = thread._create_worker_consumer(app.transport)
        # What the client hands its fetcher when it starts.
        return int(client._fetch_max_wait_ms)

    assert asyncio.run(run()) == 120


def test_a_fetch_wait_below_one_millisecond_is_refused() -> None:
    with pytest.raises(ValueError, match="fetch_max_wait_ms"):
        WorkerApp("fetch-wait-test", broker="kafka://127.0.0.1:1", fetch_max_wait_ms=0)


def test_the_worker_producer_lingers_as_the_settings_say(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_producer_linger_s=0.007)
    app = _faust_app(settings, "127.0.0.1:1")
    producer = app.producer
    assert isinstance(producer, aiokafka_driver.Producer)
    # What the aiokafka producer is created with.
    assert producer._settings_default()["linger_ms"] == 7


def _message(tp: TP, offset: int, *, generation_id: int | None = None) -> ConsumerMessage:
    """A record as the conductor gives it to the one stream of its topic (not handed to
    the agent yet)."""
    message = ConsumerMessage(
        tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None, generation_id=generation_id
    )
    message.incref()  # one stream holds it, as the conductor counts
    return message


def _handed_over(tp: TP, offset: int) -> ConsumerMessage:
    """A record the stream handed to its agent: it tracks it first."""
    message = _message(tp, offset)
    message.tracked = True
    return message


def test_a_record_the_stream_skipped_is_not_committable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 1)
    broker = _FakedBroker({tp})

    async def run() -> tuple[list[int], int | None, Counter[str]]:
        consumer = broker.consumer(monkeypatch, "skip-test")
        app = consumer.app
        app.flow_control.resume()
        app.consumer_generation_id = 3
        taken = [_handed_over(tp, offset) for offset in range(100, 108)]
        for message in taken:
            message.ack(consumer)
        # Faust's pure-Python stream iterator skips what it reads while a rebalance has
        # flow suspended, and acks it untracked: 108-152 never reach the agent.
        app.flow_control.suspend()
        for offset in range(108, 153):
            _message(tp, offset, generation_id=3).ack(consumer)
        # Once flow resumes, a record of the generation before is skipped too.
        app.flow_control.resume()
        _message(tp, 153, generation_id=2).ack(consumer)
        # Untracked in the current generation with flow on: acked by the conductor
        # itself (a record it could not decode), which counts, as in Faust.
        _message(tp, 200, generation_id=3).ack(consumer)
        return sorted(consumer._acked[tp]), consumer._new_offset(tp), consumer.take_dropped()

    acked, commit_at, dropped = asyncio.run(run())
    assert acked == [*range(100, 108), 200]
    assert commit_at == 108  # whoever holds the partition next starts at the first skipped
    assert dropped == {"vt.frames": 46}  # 108-153


def test_an_agent_holds_back_a_record_after_a_gap_and_the_partition_is_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 1)
    broker = _FakedBroker({tp})

    async def run() -> tuple[list[bool], list[list[int]], Counter[str]]:
        consumer = broker.consumer(monkeypatch, "admit-test")
        admitted, acked = [], []
        # 275 comes twice before the read from 256 (Faust delivers again the record at
        # its read offset): neither held-back copy's ack may count.
        for take in [[*range(250, 256), 274, 275, 275], list(range(256, 276))]:
            messages = [_handed_over(tp, offset) for offset in take]
            admitted += [await consumer.admit(message) for message in messages]
            for message in messages:  # every event of a take is acked after it
                message.ack(consumer)
            acked.append(sorted(consumer._acked[tp]))
        return admitted, acked, consumer.take_dropped()

    admitted, acked, dropped = asyncio.run(run())
    assert admitted == [True] * 6 + [False] * 3 + [True] * 20
    assert broker.seeks == [(tp, 256)]  # once, though three records were held back
    # The held-back records' acks do not count: nothing past 255 is committable before
    # 256-273 come; then all of them are, each once.
    assert acked == [list(range(250, 256)), list(range(250, 276))]
    assert dropped == {"vt.frames": 18}  # 256-273


def test_a_held_back_record_does_not_keep_a_rebalance_waiting_or_count_as_committable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 1)
    broker = _FakedBroker({tp})

    async def run() -> tuple[list[int], int, bool]:
        consumer = broker.consumer(monkeypatch, "hold-test")
        assert await consumer.admit(_message(tp, 10))
        held = _handed_over(tp, 14)
        consumer.track_message(held)  # the stream tracks what it reads
        assert not await consumer.admit(held)
        acked_now = held.ack(consumer)
        return list(consumer._acked[tp]), len(consumer._unacked_messages), acked_now

    acked, unacked, acked_now = asyncio.run(run())
    assert acked == [] and not acked_now
    assert unacked == 0  # Faust's wait for the agents at a rebalance does not wait on it


async def _assigned_upstream(self: object, assigned: set[TP], generation_id: int = 0) -> None:
    """Faust's own handling of an assignment, which needs a running app: none here."""


def test_the_order_of_a_partition_held_through_a_rebalance_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held, moved, new = TP("vt.frames", 1), TP("vt.frames", 0), TP("vt.frames", 2)
    broker = _FakedBroker({held, moved, new})
    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_assigned", _assigned_upstream)

    async def run() -> list[bool]:
        consumer = broker.consumer(monkeypatch, "assign-test")
        await consumer.on_partitions_assigned({held, moved})
        assert await consumer.admit(_message(held, 100))
        assert await consumer.admit(_message(moved, 100))
        await consumer.on_partitions_assigned({held, new})  # moved went away
        await consumer.on_partitions_assigned({held, new, moved})  # and came back
        return [
            await consumer.admit(_message(held, 120)),  # still expects 101: a gap
            await consumer.admit(_message(moved, 120)),  # anew: from where it is
        ]

    assert asyncio.run(run()) == [False, True]


def test_a_partition_given_anew_is_taken_from_its_committed_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held, fresh, uncommitted = TP("vt.frames", 1), TP("vt.frames", 0), TP("vt.frames", 2)
    broker = _FakedBroker({held, fresh, uncommitted})
    # As aiokafka answers: its own partition tuples, None where nothing was committed.
    committed = {
        TopicPartition(*held): 10,
        TopicPartition(*fresh): 40,
        TopicPartition(*uncommitted): None,
    }

    async def committed_upstream(self: object) -> dict[TopicPartition, int | None]:
        return committed

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_assigned", _assigned_upstream)
    monkeypatch.setattr(aiokafka_driver.Consumer, "seek_to_committed", committed_upstream)

    async def run() -> list[bool]:
        consumer = broker.consumer(monkeypatch, "committed-test")
        await consumer.on_partitions_assigned({held})
        assert await consumer.admit(_message(held, 50))
        await consumer.on_partitions_assigned({held, fresh, uncommitted})
        assert await consumer.seek_to_committed() == committed
        return [
            await consumer.admit(_message(held, 51)),  # held through: on from 51
            await consumer.admit(_message(fresh, 45)),  # 40-44 never came
            await consumer.admit(_message(fresh, 40)),
            await consumer.admit(_message(uncommitted, 7)),  # where the reset put it
        ]

    assert asyncio.run(run()) == [True, False, True, True]
    assert broker.seeks == [(fresh, 40)]


def test_a_partition_given_anew_is_not_fetched_before_its_seek_to_the_committed_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held, fresh = TP("vt.frames", 1), TP("vt.frames", 0)
    broker = _FakedBroker({held, fresh})
    asked: list[set[TP] | None] = []

    async def fetched_upstream(
        self: object, active_partitions: set[TP] | None, timeout: float
    ) -> dict[TP, list[Any]]:
        asked.append(None if active_partitions is None else set(active_partitions))
        return {}

    async def committed_upstream(self: object) -> dict[TopicPartition, int]:
        return {TopicPartition(*held): 60, TopicPartition(*fresh): 108}

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_assigned", _assigned_upstream)
    monkeypatch.setattr(aiokafka_driver.Consumer, "_getmany", fetched_upstream)
    monkeypatch.setattr(aiokafka_driver.Consumer, "seek_to_committed", committed_upstream)

    async def run() -> None:
        consumer = broker.consumer(monkeypatch, "unsought-test")
        await consumer.on_partitions_assigned({held})
        await consumer.seek_to_committed()
        await consumer.on_partitions_assigned({held, fresh})  # fresh came in a rebalance
        await consumer._getmany({held, fresh}, 1.0)  # resumed, not sought yet
        await consumer._getmany({fresh}, 0.01)  # nothing to ask for
        # Another rebalance before the seek: fresh was held, but never sought.
        await consumer.on_partitions_assigned({held, fresh})
        await consumer._getmany({held, fresh}, 1.0)
        await consumer.seek_to_committed()
        await consumer._getmany({held, fresh}, 1.0)

    # Fetched before the seek, from where the client had got to (153, say), fresh's first
    # record would have been taken as where it starts, and 108-152 dropped as read already.
    asyncio.run(run())
    assert asked == [{held}, {held}, {held, fresh}]
    assert broker.seeks == []


def test_records_deleted_before_they_were_read_are_gone_past_with_an_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tp = TP("vt.frames", 1)
    broker = _FakedBroker({tp}, earliest=264)  # retention deleted up to 263

    async def run() -> list[bool]:
        consumer = broker.consumer(monkeypatch, "retention-test")
        return [await consumer.admit(_message(tp, o)) for o in (255, 264, 270, 265)]

    assert asyncio.run(run()) == [True, True, False, True]
    assert broker.seeks == [(tp, 265)]  # 265-269 are still there: read again
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [
        f"records 256-263 of {tp} were deleted before they were read: its agent goes on "
        "from offset 264"
    ]


def test_after_a_take_is_withheld_no_ack_is_committable_nor_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 1)
    broker = _FakedBroker({tp})

    other = TP("vt.frames", 2)

    async def run() -> tuple[list[int], int | None, list[int], int]:
        consumer = broker.consumer(monkeypatch, "withhold-test")
        done = [_handed_over(tp, offset) for offset in range(40, 48)]
        failed = [_handed_over(tp, offset) for offset in range(48, 80)]
        held_back = _handed_over(tp, 90)  # after a gap: admit refused it
        queued = [_handed_over(other, offset) for offset in range(10, 14)]  # not taken yet
        for message in [*done, *failed, held_back, *queued]:
            consumer.track_message(message)
        for message in done + failed:
            assert await consumer.admit(message)
        assert not await consumer.admit(held_back)
        for message in done:
            message.ack(consumer)
        consumer.withhold(failed)  # the agent raised part way through this take
        # Then the take's events are acked as it is closed, and the stream, its agent
        # gone, acks records no agent took.
        for message in [*failed, held_back, *queued]:
            message.ack(consumer)
        acked = sorted(consumer._acked[tp])
        return (
            acked,
            consumer._new_offset(tp),
            consumer._acked[other],
            len(consumer._unacked_messages),
        )

    acked, commit_at, other_acked, unacked = asyncio.run(run())
    assert acked == list(range(40, 48))
    assert commit_at == 48  # whoever holds the partition next reads the take again
    assert other_acked == []  # and the other partition's records
    assert unacked == 0  # the stop does not wait for them


def test_the_first_record_read_again_puts_back_a_read_offset_moved_past_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 1)
    broker = _FakedBroker({tp})

    async def run() -> list[int | None]:
        consumer = broker.consumer(monkeypatch, "read-offset-test")
        for offset in range(250, 256):
            assert await consumer.admit(_message(tp, offset))
        assert not await consumer.admit(_message(tp, 274))  # reads again from 256
        # Faust's fetch loop handed over 275, fetched before the seek, after it.
        consumer._read_offset[tp] = 275
        read = []
        for offset in (257, 256, 257):  # not the target; the target; then the next
            consumer._restore_read_offset(tp, offset)
            read.append(consumer._read_offset.get(tp))
        return read

    assert asyncio.run(run()) == [275, 256, 256]


def test_a_jump_after_records_came_in_order_again_is_read_again_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 3)
    broker = _FakedBroker({tp})

    async def run() -> tuple[bool, bool, bool]:
        consumer = broker.consumer(monkeypatch, "jump-again-test")
        consumer._read_offset[tp] = 151
        first = await consumer._reread_skipped(tp, 176)
        in_order = await consumer._reread_skipped(tp, 152)  # read again from 151: 152 came
        consumer._read_offset[tp] = 151  # later, a rebalance seeks back to the committed 151
        second = await consumer._reread_skipped(tp, 176)
        return first, in_order, second

    # The second jump is records skipped again, not a gap in the log (as a jump right
    # after the read again would be).
    assert asyncio.run(run()) == (True, False, True)
    assert broker.seeks == [(tp, 151), (tp, 151)]
