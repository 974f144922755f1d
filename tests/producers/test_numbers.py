"""Frame numbers of a live stream, reserved in blocks."""

from __future__ import annotations

import pytest

from producers.live.numbers import FrameNumbers


class Ledger:
    """A stream's ``last_frame_no`` as the repository keeps it."""

    def __init__(self, last: int = -1) -> None:
        self.last = last
        self.calls: list[int] = []

    def reserve(self, count: int) -> int:
        self.calls.append(count)
        first = self.last + 1
        self.last += count
        return first


def test_numbers_continue_the_stream_and_reserve_a_block_at_a_time() -> None:
    ledger = Ledger(last=249)
    numbers = FrameNumbers(ledger.reserve, block=4)
    assert [numbers.next() for _ in range(10)] == list(range(250, 260))
    assert ledger.calls == [4, 4, 4]
    assert (numbers.last_used, numbers.last_reserved, ledger.last) == (259, 261, 261)


def test_keep_last_is_the_last_number_used_or_the_one_before_an_unused_block() -> None:
    ledger = Ledger(last=99)
    numbers = FrameNumbers(ledger.reserve, block=10)
    assert (numbers.keep_last, numbers.last_reserved) == (None, None)
    numbers.next()
    numbers.next()
    assert numbers.keep_last == 101
    for _ in range(8):
        numbers.next()
    assert numbers.keep_last == 109  # the whole block used
    numbers.next()
    assert (numbers.keep_last, numbers.last_reserved) == (110, 119)


def test_a_restart_after_a_crash_never_repeats_a_number() -> None:
    ledger = Ledger()
    first_run = FrameNumbers(ledger.reserve, block=100)
    used = [first_run.next() for _ in range(30)]
    # crash: the rest of the block is never given back
    second_run = FrameNumbers(ledger.reserve, block=100)
    assert second_run.next() == 100 > max(used)


def test_a_block_below_the_numbers_already_used_is_refused() -> None:
    starts = iter([10, 5])
    numbers = FrameNumbers(lambda count: next(starts), block=2)
    numbers.next()
    numbers.next()
    with pytest.raises(RuntimeError, match="below"):
        numbers.next()


def test_a_run_of_numbers_is_consecutive_across_blocks() -> None:
    ledger = Ledger(last=9)
    numbers = FrameNumbers(ledger.reserve, block=4)
    assert numbers.take(3) == 10  # 10..12 of block 10..13
    assert numbers.take(3) == 13  # 13, then the adjoining block 14..17
    assert numbers.take(9) == 16  # a run longer than a block reserves what it needs
    assert (numbers.last_used, ledger.calls) == (24, [4, 4, 9])


def test_a_run_skips_the_rest_of_a_block_when_the_next_does_not_adjoin() -> None:
    ledger = Ledger(last=-1)
    numbers = FrameNumbers(ledger.reserve, block=4)
    assert numbers.take(2) == 0
    ledger.last = 99  # another producer reserved 4..99
    assert numbers.take(3) == 100
    assert numbers.next() == 103
    with pytest.raises(ValueError):
        numbers.take(0)
