"""Pacing frames in real time, so a finite scene can be streamed like a live camera."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["paced"]

T = TypeVar("T")


def paced(
    items: Iterable[T],
    fps: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[T]:
    """Yield item i at ``start + i / fps`` on ``clock`` (seconds), sleeping until it is due.

    If the consumer falls more than one frame behind, the schedule restarts from now instead
    of bursting the backlog, as a live camera would.
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    period = 1.0 / fps
    start = clock()
    for i, item in enumerate(items):
        delay = start + i * period - clock()
        if delay > 0:
            sleep(delay)
        elif delay < -period:
            start = clock() - i * period
        yield item
