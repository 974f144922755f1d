"""The worker's Faust app: records fetched while a partition was paused are read again, and
stream queues keep their events when flow resumes after a rebalance, and the consumer
fetches with the app's fetch wait; its producer lingers as the settings say."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP
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


def test_records_skipped_by_a_jump_are_read_again_and_counted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("vt.frames", 3)
    seeks: list[tuple[TP, int]] = []

    async def seek(partition: TP, offset: int) -> None:
        seeks.append((partition, offset))

    async def run() -> tuple[bool, Counter[str], Counter[str]]:
        app = WorkerApp("dropped-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        consumer = app.consumer
        assert isinstance(consumer, RewindingConsumer)
        monkeypatch.setattr(consumer, "seek", seek)
        consumer._read_offset[tp] = 151
        reread = await consumer._reread_skipped(tp, 176)
        return reread, consumer.take_dropped(), consumer.take_dropped()

    reread, dropped, after = asyncio.run(run())
    assert reread and seeks == [(tp, 151)]
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
