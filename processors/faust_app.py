"""The worker's Faust app: ``faust.App`` with fixes that keep a rebalance from losing
records of a stream partition.

1. **Records fetched for a paused partition are fetched again.** Faust's consumer fetches
   for the partitions active when the fetch starts and then drops, without a word, the
   records of any partition that was paused meanwhile, as happens to the stream partitions
   while a rebalance recovers the tables. The Kafka client's position has moved past those
   records, and the next record of the partition then looks to Faust like the end of a
   gap in the log (as left by compaction), which it counts as acknowledged: the records
   were never delivered, their offsets got committed, and the seek to the committed
   offsets at the end of the rebalance did not bring them back. In the failover test 15
   to 24 frames of a stream went missing that way in about one run in five.
   :class:`RewindingConsumer` seeks such a partition back to where delivery stopped, and,
   for whatever else skips records, seeks a stream partition back whenever its next record
   is not the one after the last read, before Faust can register the jump as a gap.
2. **Stream queues are not emptied when flow resumes.** Faust clears every stream queue
   whenever flow resumes, and at the end of a rebalance it resumes flow only after it has
   resumed the stream partitions and sought them to their committed offsets: records
   fetched in between would be cleared after the consumer marked them read.
   :class:`KeepQueuesOnResume` keeps them; queues are still cleared when partitions are
   revoked, and Faust still drops events of an older consumer generation.

3. **An agent takes a partition's records in offset order, none left out.** Whatever else
   drops a record between the broker and an agent, the agents ask the consumer to
   :meth:`RewindingConsumer.admit` each record; after a gap it holds the record back,
   unacknowledged, and reads the partition again from the first one missing
   (:mod:`processors.delivery_order`). A partition that came anew must start at its
   committed offset (:meth:`RewindingConsumer.seek_to_committed`), and the client is not
   asked for its records before that seek is done: Faust resumes the stream partitions
   just before it seeks them, with flow already on (the tables' recovery turns it on), so
   a fetch from wherever the client's position had got to could otherwise be taken first,
   and the client drops what it fetched before a seek. A take an agent fails part way is
   withheld from every commit (:meth:`RewindingConsumer.withhold`).
4. **A record the stream skipped is not committed.** Faust's stream iterator skips the
   records it reads while flow is suspended or of an older consumer generation. Its
   compiled extension leaves them unacknowledged; its pure-Python iterator (``NO_CYTHON=1``,
   or where the extension is not built) acknowledges them as if an agent had taken them, so
   a commit passed them and the partition's next owner started after them. Those
   acknowledgements do not count here: whoever holds the partition next reads them.

It also makes the consumer's fetch wait a setting (``fetch_max_wait_ms``): Faust's aiokafka
driver fixes it at 1,500 ms, and a broker that answers a fetch only when its wait expires
(the bundled one) then holds every record of a quiet stream for up to that long; and it
tells the end and committed offsets of the partitions it holds, for the lag metric
(:meth:`RewindingConsumer.partition_offsets`), and how many records were dropped on the
way and read again (:meth:`RewindingConsumer.take_dropped`); and its consumer thread stops
when asked once the broker is gone (:meth:`WorkerConsumerThread.on_thread_stop`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from typing import Any, cast

import aiokafka  # type: ignore[import-untyped]
import faust
from faust.exceptions import ConsumerNotStarted
from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from mode.utils.futures import notify
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from processors.consumer_lag import PartitionOffsets
from processors.delivery_order import PartitionSequences

__all__ = [
    "KeepQueuesOnResume",
    "RewindingConsumer",
    "WorkerApp",
    "WorkerConsumerThread",
    "rewind_offset",
    "skipped_records",
]

log = logging.getLogger(__name__)

# How long a fetch waits when every active partition waits for its seek to the committed
# offset, which comes right after Faust resumes them.
_UNSOUGHT_WAIT_S = 0.05


def _by_partition(offsets: Mapping[Any, int | None]) -> str:
    """``offsets`` (topic partition: offset) for a log line, in partition order."""
    return ", ".join(f"{tp.topic}[{tp.partition}]={o}" for tp, o in sorted(offsets.items()))


def _first_undelivered(first_fetched: int, last_delivered: int | None) -> int:
    """The first record of a fetch starting at ``first_fetched`` that Faust did not deliver,
    given the last it did (None: none)."""
    return first_fetched if last_delivered is None else last_delivered + 1


def rewind_offset(
    first_fetched: int, last_fetched: int, last_delivered: int | None, read_offset: int | None
) -> int | None:
    """Where to seek a partition after a fetch of ``first_fetched..last_fetched`` of which
    Faust delivered up to ``last_delivered`` (None: nothing); None if no seek is needed.

    ``read_offset`` is Faust's read offset of the partition now: the last record delivered,
    or where a seek put it. Seeking goes back to it, never forward past it: if a seek (to
    the committed offsets, in a rebalance) moved it since the fetch, records from there on
    are read again, duplicates included, which the stream's applied-frames check skips.
    None (the partition is being revoked) or ahead of the undelivered records: no seek.
    """
    first = _first_undelivered(first_fetched, last_delivered)
    if first > last_fetched or read_offset is None:
        return None
    if read_offset > first:
        return None
    return read_offset


def skipped_records(read_offset: int | None, offset: int) -> int:
    """How many records a record at ``offset`` after Faust's ``read_offset`` of its
    partition skips: none unless it is the jump Faust registers as a gap (more than one
    past a known, non-zero read offset)."""
    if not read_offset or offset - read_offset <= 1:
        return 0
    return offset - read_offset - 1


class RewindingConsumer(aiokafka_driver.Consumer):
    """Faust's aiokafka consumer, which seeks a stream partition back when Faust dropped
    records of it that were fetched while the partition was paused, whenever the next
    record of a stream partition is not the one after the last read, and whenever an agent
    finds one missing (:meth:`admit`)."""

    _fetched: Mapping[TP, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reread_from: dict[TP, int] = {}
        self._dropped: Counter[str] = Counter()
        self._sequences: PartitionSequences[TP] = PartitionSequences()
        # Records admit refused and not yet acked, by partition and offset: counted, as
        # Faust may deliver a record twice, and only the copy taken may count as acked.
        self._held_back: Counter[tuple[TP, int]] = Counter()
        self._held: frozenset[TP] = frozenset()  # the partitions of the last assignment
        # Stream partitions of the last assignment that came anew and are not sought to
        # their committed offsets yet: the client is not asked for their records before.
        self._unsought: set[TP] = set()
        self._withholding = False  # every ack from now on (see withhold)

    async def admit(self, message: Message) -> bool:
        """Whether the agent may take ``message``: False when records of its partition
        before it have not reached the agent. The partition is then read again from the
        first of them, and ``message`` is held back: its acknowledgement does not count,
        so no commit passes the missing records before they are taken, and it comes again
        after them."""
        tp, offset = message.tp, message.offset
        gap = self._sequences.check(tp, offset)
        if gap is not None and gap.seek and await self._deleted_before(tp, gap.first):
            gap = self._sequences.check(tp, offset)
        if gap is None:
            return True
        self._held_back[tp, offset] += 1
        if gap.seek and tp in self.assignment():
            self._dropped[tp.topic] += gap.count
            log.warning(
                "records %d-%d of %s have not reached the agent: reading it again from %d",
                gap.first,
                gap.last,
                tp,
                gap.first,
                extra={"topic": tp.topic, "partition": tp.partition, "offset": gap.first},
            )
            await self.seek(tp, gap.first)
        return False

    async def _deleted_before(self, tp: TP, first_missing: int) -> bool:
        """Whether the missing records from ``first_missing`` on are partly deleted from
        the log (by retention): the agent then goes on from the earliest left."""
        earliest = (await self.earliest_offsets(tp)).get(tp, 0)
        if earliest <= first_missing:
            return False
        log.error(
            "records %d-%d of %s were deleted before they were read: its agent goes on "
            "from offset %d",
            first_missing,
            earliest - 1,
            tp,
            earliest,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": earliest},
        )
        self._sequences.start_at(tp, earliest)
        return True

    def ack(self, message: Message) -> bool:
        key = (message.tp, message.offset)
        skipped = not message.acked and self._skipped_by_stream(message)
        if message.acked or not (skipped or self._withholding or self._held_back[key]):
            return super().ack(message)
        if skipped:
            self._dropped[message.topic] += 1
            log.debug(
                "%s offset %d skipped by its stream (flow suspended or an older generation): "
                "not counted as acknowledged",
                message.tp,
                message.offset,
                extra={
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                },
            )
        # Done with, as far as waiting for the agents goes; not safe to commit.
        with ack_lock:
            if self._held_back[key]:
                self._held_back[key] -= 1
                if not self._held_back[key]:
                    del self._held_back[key]
            message.acked = True
            self._unacked_messages.discard(message)
            notify(self._waiting_for_ack)
        return False

    def _skipped_by_stream(self, message: Message) -> bool:
        """Whether Faust's stream iterator skipped ``message`` instead of handing it to its
        agent, as it does, without a word, with a record read while flow is suspended (a
        rebalance under way) or of an older consumer generation; the pure-Python iterator
        then acknowledges it as if taken. A record of an agent's topic counts as tracked
        only once handed over, and the skip's acknowledgement follows its test with no
        await in between, so the test still holds when the acknowledgement comes."""
        return (
            not message.tracked
            and self.app.topics.acks_enabled_for(message.topic)
            and (
                not self.app.flow_control.is_active()
                or message.generation_id != self.app.consumer_generation_id
            )
        )

    def withhold(self, messages: Iterable[Message]) -> None:
        """An agent could not finish with ``messages`` (a take that failed part way) and
        the worker stops: from now on no acknowledgement counts towards a commit, theirs or
        any other record's (once the agent is gone, its stream goes on acknowledging
        records that no agent took), so whoever holds the partitions next reads them again
        from the last commit. They are done with as far as waiting for the agents goes."""
        self._withholding = True
        for message in messages:
            self.ack(message)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        # Each rebalance revokes every partition first; one held through it goes on
        # where its agent was.
        kept = self._held & assigned
        self._sequences.keep_only(kept)
        self._held_back = Counter({k: n for k, n in self._held_back.items() if k[0] in kept})
        self._reread_from = {tp: o for tp, o in self._reread_from.items() if tp in kept}
        self._held = frozenset(assigned)
        # One given in the assignment before and not sought since (a rebalance cut that
        # one's recovery short) is still to be sought.
        fresh = {tp for tp in assigned - kept if not self._is_changelog_tp(tp)}
        self._unsought = fresh | (self._unsought & assigned)
        await super().on_partitions_assigned(assigned, generation_id)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Seek every partition to its committed offset (Faust does, at the end of each
        rebalance, right after resuming the stream partitions), and have the agent of each
        stream partition that came anew check that its first record is the committed one.
        Whatever dropped the records before it (a read offset left past them by the fetch
        loop, say) would otherwise go unseen: the agent takes the first record it gets as
        where the partition starts. Until this seek is done, :meth:`_getmany` asks the
        client for none of the records of such a partition; the client drops whatever it
        fetched of it from before the seek."""
        committed = await super().seek_to_committed()
        self._unsought.clear()  # with no await since the seek: no fetch has asked for them
        log.debug("sought to the committed offsets %s", _by_partition(committed))
        for tp, offset in committed.items():
            # aiokafka seeks only to a committed offset above 0; a partition without one
            # starts where the reset policy puts it, which the agent takes as it comes.
            if offset is not None and offset > 0 and not self._is_changelog_tp(tp):
                self._sequences.expect_first(ensure_TP(tp), offset)
        return committed

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        log.debug("committing %s", _by_partition(offsets))
        return bool(await super()._commit(offsets))

    def take_dropped(self) -> Counter[str]:
        """Records per topic dropped on the way and read again since the last call."""
        dropped, self._dropped = self._dropped, Counter()
        return dropped

    async def _wait_next_records(
        self, timeout: float
    ) -> tuple[Mapping[TP, Any] | None, set[TP] | None]:
        records, active = await super()._wait_next_records(timeout)
        self._fetched = records or {}
        return records, active

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        """The records the client fetched of ``active_partitions``, but for the partitions
        not sought to their committed offsets yet (:meth:`seek_to_committed`): a fetch asks
        for what was active when it started, so none asks for them before the seek."""
        unsought = self._unsought
        if active_partitions is None or not unsought & active_partitions:
            return await super()._getmany(active_partitions, timeout)
        partitions = active_partitions - unsought
        if not partitions:  # asked for no partition, the client would give them all
            await self.sleep(min(timeout, _UNSOUGHT_WAIT_S))
            return {}
        return await super()._getmany(partitions, timeout)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        delivered: dict[TP, int] = {}
        reread: set[TP] = set()
        async for tp, message in super().getmany(timeout):
            if tp in reread:
                continue
            if await self._reread_skipped(tp, message.offset):
                reread.add(tp)
                continue
            self._restore_read_offset(tp, message.offset)
            delivered[tp] = message.offset
            yield tp, message
        fetched, self._fetched = self._fetched, {}
        for tp, records in fetched.items():
            # A partition read again above is already where it must be.
            if records and tp not in reread and not self._is_changelog_tp(tp):
                await self._rewind(tp, records[0].offset, records[-1].offset, delivered.get(tp))

    def _restore_read_offset(self, tp: TP, offset: int) -> None:
        """Let the first record of an agent's read again (:meth:`admit`) through.

        Faust's fetch loop drops a record below the partition's read offset as read
        already. The agent seeks while that loop may be waiting to hand it a record fetched
        before the seek (as it does whenever the stream's queue is full), and the loop then
        sets the read offset to that record's, past the seek's target: every record read
        again would be dropped, and the agent would hold the partition's records back for
        good. The record at the target puts the read offset back to it.
        """
        first = self._sequences.rereading(tp)
        read = self._read_offset.get(tp)
        if first == offset and read is not None and read > offset:
            log.debug("%s read again from %d: read offset %d put back", tp, offset, read)
            self._read_offset[tp] = offset

    async def _reread_skipped(self, tp: TP, offset: int) -> bool:
        """If records before ``offset`` were skipped, seek back to them and say so.

        Faust would take the jump for a gap in the log and count the skipped offsets as
        acknowledged; a stream topic here is neither compacted nor transactional, so its
        offsets have no gaps and a jump means records were dropped on the way.
        """
        read = self._read_offset.get(tp)
        skipped = skipped_records(read, offset)
        if not skipped or self._is_changelog_tp(tp):
            if read is not None and offset == read + 1:
                self._reread_from.pop(tp, None)  # the records come in order again
            return False
        assert read is not None
        if self._reread_from.get(tp) == read:
            # Read again from there and the records are still not there: a real gap in
            # the log (a topic made by a transactional producer, say). Faust's way.
            log.error(
                "%s jumps from offset %d to %d again after reading it again: a gap in the log",
                tp,
                read,
                offset,
                extra={"topic": tp.topic, "partition": tp.partition, "offset": read},
            )
            return False
        self._reread_from[tp] = read
        self._dropped[tp.topic] += skipped
        log.warning(
            "%s jumped from offset %d to %d: reading it again from %d",
            tp,
            read,
            offset,
            read,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": read},
        )
        await self.seek(tp, read)
        return True

    async def _rewind(self, tp: TP, first: int, last: int, last_delivered: int | None) -> None:
        offset = rewind_offset(first, last, last_delivered, self._read_offset.get(tp))
        if offset is None or tp not in self.assignment():
            return
        undelivered = _first_undelivered(first, last_delivered)
        self._dropped[tp.topic] += last - undelivered + 1
        log.warning(
            "records %d-%d of %s were fetched while the partition was paused and not "
            "delivered: reading it again from offset %d",
            undelivered,
            last,
            tp,
            offset,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": offset},
        )
        await self.seek(tp, offset)

    def partition_offsets(self, topics: Collection[str]) -> list[PartitionOffsets]:
        """The end and committed offsets of the partitions of ``topics`` assigned here, as
        last heard (no request: the end offset comes with every fetch response); none
        before the consumer has started."""
        try:
            assigned = self.assignment()
        except ConsumerNotStarted:
            return []
        offsets = []
        for tp in sorted(assigned):
            if tp.topic not in topics:
                continue
            try:
                end = self.highwater(tp)
            except AssertionError:
                # aiokafka asserts the partition is still assigned: it was revoked since
                # the assignment was read (the consumer thread rebalances on its own loop).
                continue
            offsets.append(
                PartitionOffsets(tp.topic, tp.partition, end, self._committed_offset.get(tp))
            )
        return offsets

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return WorkerConsumerThread(self, loop=self.loop, beacon=self.beacon)


class WorkerConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread, with the app's fetch wait instead of Faust's."""

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes a fixed fetch_max_wait_ms=1500; the client reads it from here when
        # it starts (after this), so overriding it here is what passing it would do.
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("aiokafka's consumer no longer has _fetch_max_wait_ms")
        consumer._fetch_max_wait_ms = cast(WorkerApp, self.app).fetch_max_wait_ms
        return consumer

    async def on_thread_stop(self) -> None:
        """Stop the client; a fetch it cancelled as it closed does not stop the thread.

        aiokafka's consumer, closing, awaits the fetches it has just cancelled, and the one
        waiting to try again (as one always is once the broker is gone) raises its
        cancellation out of the close. The thread then ended without telling the app's
        loop, which waited for it for good: a worker whose broker was gone ignored SIGTERM.
        """
        try:
            await super().on_thread_stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the thread itself is cancelled
            log.warning(
                "a fetch the Kafka client cancelled as it stopped ended its close: closing "
                "its connections"
            )
            if self._consumer is not None:
                await self._consumer._client.close()


class WorkerTransport(aiokafka_driver.Transport):
    Consumer = RewindingConsumer


class KeepQueuesOnResume(FlowControlEvent):
    """Flow control that resumes the queues without emptying them."""

    def resume(self) -> None:
        # FlowControlEvent.resume, less its self.clear().
        self._suspend.clear()
        self._resume.set()


class WorkerApp(faust.App):
    """``faust.App`` with :class:`RewindingConsumer`, :class:`KeepQueuesOnResume` and a
    fetch wait of ``fetch_max_wait_ms``; the broker URL must be ``kafka://`` (the aiokafka
    driver)."""

    def __init__(self, id: str, *, fetch_max_wait_ms: int = 1500, **options: Any) -> None:
        if fetch_max_wait_ms < 1:
            raise ValueError(f"fetch_max_wait_ms must be at least 1, not {fetch_max_wait_ms}")
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(id, **options)

    def _new_transport(self) -> WorkerTransport:
        return WorkerTransport(self.conf.broker_consumer, self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepQueuesOnResume(loop=self.loop)
