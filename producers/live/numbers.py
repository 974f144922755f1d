"""Frame numbers of a live stream, reserved from the database in blocks.

The worker skips any frame whose number is not above the last one it applied for the
stream, so numbers must increase for the life of a stream, across producer restarts and
crashes. A live producer therefore reserves a block of numbers before using them (the
stream's ``last_frame_no`` moves to the end of the block) and gives back the unused rest on
a clean stop. A crash leaves a gap in the numbering, never a repeat.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["FrameNumbers"]


class FrameNumbers:
    """Hands out increasing frame numbers; ``reserve(count)`` returns the first of a block.

    A run of numbers that does not fit in the rest of the current block continues into the
    next block when that block adjoins it (it does, unless another producer reserved in
    between), so a chunk's frames always get consecutive numbers.
    """

    def __init__(self, reserve: Callable[[int], int], block: int = 1000) -> None:
        if block < 1:
            raise ValueError("block must be at least 1")
        self._reserve = reserve
        self._block = block
        self._next = 0
        self._end = -1  # last reserved number
        self._used: int | None = None

    def next(self) -> int:
        return self.take(1)

    def take(self, count: int) -> int:
        """The first of ``count`` consecutive numbers: one frame's, or a video chunk's."""
        if count < 1:
            raise ValueError("count must be at least 1")
        while self._next + count - 1 > self._end:
            size = max(self._block, count)
            first = self._reserve(size)
            if first < self._next:
                raise RuntimeError(f"reserved block starts at {first}, below {self._next}")
            if first != self._end + 1:  # not adjoining: the rest of the old block is a gap
                self._next = first
            self._end = first + size - 1
        number = self._next
        self._next += count
        self._used = self._next - 1
        return number

    @property
    def last_used(self) -> int | None:
        """The last number handed out, or None before the first."""
        return self._used

    @property
    def keep_last(self) -> int | None:
        """The last number to keep when giving the rest of the block back: the last one
        handed out, or the one before the block if none of it was used."""
        return None if self.last_reserved is None else self._next - 1

    @property
    def last_reserved(self) -> int | None:
        """The end of the current block, or None before the first reservation."""
        return self._end if self._end >= 0 else None
