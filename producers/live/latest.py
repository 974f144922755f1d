"""A bounded queue between a live capture thread and its publisher that drops the oldest item.

A camera cannot wait: if the publisher falls behind, the capture thread must go on reading
(or the camera's own buffer fills and every frame arrives late). So :meth:`put` never
blocks; when the queue is full the oldest item is dropped and returned, for the caller to
count. The consumer always gets the freshest frames.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

__all__ = ["DropOldestQueue"]

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """Thread-safe FIFO of at most ``maxsize`` items; full, it drops the oldest."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> T | None:
        """Append ``item``; returns the item dropped to make room, or None.

        A closed queue takes nothing: ``item`` itself comes back (as during shutdown).
        """
        with self._ready:
            if self._closed:
                return item
            dropped = None
            if len(self._items) >= self.maxsize:
                dropped = self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._ready.notify()
            return dropped

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds; None on timeout or when closed
        and empty (see :attr:`finished`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._items:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._ready.wait(remaining)
            return self._items.popleft()

    def close(self) -> None:
        """No more puts; getters drain what is left, then get None."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def finished(self) -> bool:
        """Closed and drained: nothing will ever come out again."""
        with self._ready:
            return self._closed and not self._items

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)
