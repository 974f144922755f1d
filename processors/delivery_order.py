"""Each input partition's records reach its agent in offset order, none left out.

Faust has more than one way of losing a record between the broker and an agent without a
word: dropped from a fetch, cleared from a stream queue, skipped by the stream iterator as
of an older consumer generation or read while flow was suspended, or dropped by the
consumer's read-offset check. Each relies on the seek to the committed offsets at the end
of a rebalance to bring the record back, and a commit that passed it in between loses it
for good. The worker does not rely on that: its agents check each record's offset against
the one they expect next and, on a gap, have the partition read again from there.

A stream topic is neither compacted nor written by transactions, so its offsets have no
holes: a jump is a record lost on the way. Records deleted by retention before they were
read are the exception, which the consumer tells by the partition's earliest offset
(:meth:`PartitionSequences.start_at`).

Pure bookkeeping: the consumer (:mod:`processors.faust_app`) seeks and keeps acks back.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Gap", "PartitionSequences"]

P = TypeVar("P", bound=Hashable)  # a topic partition


@dataclass(frozen=True, slots=True)
class Gap:
    """Records ``first``..``last`` of a partition have not reached the agent: it holds the
    record after them back. ``seek``: read the partition again from ``first`` (false for
    a record fetched before such a read began, which is held back without another)."""

    first: int
    last: int
    seek: bool

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(slots=True)
class _Reread:
    """A gap being read again from ``first``, and the last record held back since."""

    first: int
    last_held: int


class PartitionSequences(Generic[P]):
    """The offset each partition's agent expects next, and the gaps being read again."""

    def __init__(self) -> None:
        self._next: dict[P, int] = {}
        self._rereads: dict[P, _Reread] = {}

    def check(self, partition: P, offset: int) -> Gap | None:
        """What the agent does with the record at ``offset`` of ``partition``.

        None: it takes it, the next one, one it took before (read again after a seek back
        to the committed offset, say), or the first since the partition came where no
        first one is expected (:meth:`expect_first`). A
        :class:`Gap`: records before it are missing; it holds the record back, to come
        again after them.
        """
        expected = self._next.get(partition)
        if expected is not None and offset < expected:
            return None
        if expected is None or offset == expected:
            self.start_at(partition, offset + 1)
            return None
        reread = self._rereads.get(partition)
        if reread is None or reread.first != expected:
            self._rereads[partition] = _Reread(expected, offset)
            return Gap(expected, offset - 1, seek=True)
        # Records held back since the seek come in offset order, those fetched before it
        # first (the last of them maybe twice: Faust delivers again the record at its read
        # offset). A step back is a read from the seek that lost its first records too.
        stepped_back = offset < reread.last_held
        reread.last_held = offset
        return Gap(expected, offset - 1, seek=stepped_back)

    def rereading(self, partition: P) -> int | None:
        """The first offset of the gap ``partition`` is being read again from, if any."""
        reread = self._rereads.get(partition)
        return None if reread is None else reread.first

    def start_at(self, partition: P, offset: int) -> None:
        """The agent takes ``partition`` on from ``offset``: after the record before it,
        or because records before it are not in the log any more (deleted by retention
        before they were read)."""
        self._next[partition] = offset
        self._rereads.pop(partition, None)

    def expect_first(self, partition: P, offset: int) -> None:
        """The agent's first record of ``partition`` is to be ``offset``, where the consumer
        put it (its committed offset): one past it means records were lost on the way. No
        change where the agent already expects a record: a partition held through a
        rebalance goes on where its agent was."""
        self._next.setdefault(partition, offset)

    def keep_only(self, partitions: Collection[P]) -> None:
        """Forget every partition but ``partitions`` (those held through a rebalance): a
        partition that comes anew starts at its committed offset (:meth:`expect_first`),
        or wherever its first record is if it has none."""
        for table in (self._next, self._rereads):
            for partition in [p for p in table if p not in partitions]:
                del table[partition]
