"""The drop-oldest queue between a live capture thread and its publisher."""

from __future__ import annotations

import threading
import time

import pytest

from producers.live.latest import DropOldestQueue


def test_a_full_queue_drops_and_returns_the_oldest_item() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(3)
    dropped = [queue.put(i) for i in range(6)]
    assert dropped == [None, None, None, 0, 1, 2]
    assert queue.dropped == 3
    assert [queue.get(0) for _ in range(3)] == [3, 4, 5]  # the freshest, in order
    assert queue.get(0) is None


@pytest.mark.parametrize("maxsize", [1, 2, 5])
def test_put_never_blocks_and_never_holds_more_than_maxsize(maxsize: int) -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(maxsize)
    for i in range(100):
        queue.put(i)
        assert len(queue) <= maxsize
    assert queue.dropped == 100 - maxsize
    assert [queue.get(0) for _ in range(maxsize)] == list(range(100 - maxsize, 100))


def test_get_waits_for_an_item_from_another_thread() -> None:
    queue: DropOldestQueue[str] = DropOldestQueue(2)
    timer = threading.Timer(0.05, queue.put, args=("frame",))
    timer.start()
    assert queue.get(timeout=5) == "frame"
    timer.join()


def test_get_times_out_with_none() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(1)
    start = time.monotonic()
    assert queue.get(timeout=0.05) is None
    assert time.monotonic() - start >= 0.04
    assert not queue.finished


def test_close_lets_the_consumer_drain_then_finish() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(4)
    queue.put(1)
    queue.put(2)
    queue.close()
    assert (queue.finished, len(queue)) == (False, 2)
    assert [queue.get(0), queue.get(0)] == [1, 2]
    assert (queue.finished, len(queue)) == (True, 0)
    assert queue.get(timeout=None) is None  # does not block once closed
    assert queue.put(3) == 3  # refused, not queued
    assert queue.get(0) is None


def test_close_wakes_a_waiting_consumer() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(1)
    result: list[int | None] = []
    consumer = threading.Thread(target=lambda: result.append(queue.get(timeout=10)))
    consumer.start()
    time.sleep(0.05)
    queue.close()
    consumer.join(2)
    assert not consumer.is_alive() and result == [None]


def test_a_fast_producer_and_slow_consumer_lose_only_counted_items() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(3)
    received: list[int] = []

    def consume() -> None:
        while not queue.finished:
            item = queue.get(timeout=0.5)
            if item is not None:
                received.append(item)
                time.sleep(0.001)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(2000):
        queue.put(i)
    queue.close()
    consumer.join(10)
    assert received == sorted(received)  # order kept
    assert received[-1] == 1999  # the newest always gets through
    assert len(received) + queue.dropped == 2000  # nothing lost silently


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        DropOldestQueue[int](0)
