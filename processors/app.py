"""The Faust application of the worker: topics, tables and agents.

Agents: frames (in takes of several batches across streams) and video chunks into tracks,
sharing the applied-frames, tracker-snapshots and tracker-journal tables; for streams with
rules, each frame's tracks into analytics events right after tracking, with the
analytics-state table. Every stream topic is keyed by stream id and shares one partition
count, so a stream's frames, its table entries and its tracker live on one worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import faust
from faust.types import TP
from mode import CrashingSupervisor

from processors.analytics.runner import AnalyticsRunner
from processors.faust_app import RewindingConsumer, WorkerApp
from processors.metrics import WorkerMetrics
from processors.pipeline.dead_letters import dead_letter
from processors.pipeline.frame_processor import FrameDecodeError, FrameProcessor
from processors.pipeline.rules_source import RulesSource
from processors.tracking.durable import StoredTracker
from schemas.codec import MessageDecodeError
from schemas.events import FrameEvents
from schemas.frames import FrameMessage
from schemas.tracks import FrameTracks
from schemas.video_chunks import VideoChunk
from visiontrack.settings import Settings, TopicNames

__all__ = ["create_app", "held_input_partitions"]

log = logging.getLogger(__name__)

M = TypeVar("M", FrameMessage, VideoChunk)


def faust_broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server}" for server in bootstrap.split(",")]


def _faust_app(settings: Settings, bootstrap: str) -> faust.App:
    return WorkerApp(
        settings.worker_id,
        broker=faust_broker_urls(bootstrap),
        datadir=str(settings.data_dir / "faust"),
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        broker_session_timeout=settings.broker_session_timeout_s,
        broker_heartbeat_interval=settings.broker_heartbeat_interval_s,
        producer_max_batch_size=settings.worker_producer_max_batch_size,
        producer_linger=settings.worker_producer_linger_s,
        producer_max_request_size=settings.message_max_bytes,
        consumer_max_fetch_size=settings.message_max_bytes,
        consumer_auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        web_enabled=False,
    )


def _consumer(app: faust.App) -> RewindingConsumer:
    consumer = app.consumer
    assert isinstance(consumer, RewindingConsumer)  # WorkerApp's transport makes it
    return consumer


class _Intake:
    """Reads agents' input records; a bad one goes to the dead-letter topic, logged with
    its stream, topic, partition and offset."""

    def __init__(self, app: faust.App, dead_topic: faust.TopicT, metrics: WorkerMetrics) -> None:
        self._app = app
        self._dead_topic = dead_topic
        self.metrics = metrics

    async def admit(self, event: Any) -> bool:
        """Whether the event's record comes in its partition's order; if records before
        it went missing on the way, they are read again and it comes after them
        (:meth:`RewindingConsumer.admit`)."""
        return await _consumer(self._app).admit(event.message)

    @contextmanager
    def finishing(self, events: Sequence[Any]) -> Iterator[None]:
        """Work a take off. If the agent fails part way, none of the take's records is
        ever committed (:meth:`RewindingConsumer.withhold`) and the error goes on to stop
        the worker: whoever holds their partitions next reads them again, skips the frames
        recorded as applied and restores the trackers from the tables. Faust could not
        restart the agent in this process: a take buffer stays on the stream it read."""
        try:
            yield
        except BaseException as exc:
            _consumer(self._app).withhold(event.message for event in events)
            if not isinstance(exc, asyncio.CancelledError):
                first = events[0].message
                log.error(
                    "a take of %d records failed: the worker stops, and they are read again",
                    len(events),
                    extra={
                        "topic": first.topic,
                        "partition": first.partition,
                        "offset": first.offset,
                    },
                )
            raise

    async def reject(self, event: Any, stage: str, reason: str, stream_id: str | None) -> None:
        msg = event.message
        log.warning(
            "dead letter: %s",
            reason,
            extra={
                "stream_id": stream_id,
                "topic": msg.topic,
                "partition": msg.partition,
                "offset": msg.offset,
                "stage": stage,
            },
        )
        record = dead_letter(
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=event.key,
            payload=event.value,
            stage=stage,
            reason=reason,
        )
        # Delivered before the agent goes on: the record stands in for the input it acks.
        await delivered([await self._dead_topic.send(key=event.key, value=record.to_bytes())])
        self.metrics.dead_letters.labels(stage).inc()

    async def read(self, event: Any, model: type[M]) -> M | None:
        """The event's message, or None after dead-lettering an undecodable or misrouted one."""
        try:
            message = model.from_bytes(event.value)
        except MessageDecodeError as exc:
            await self.reject(event, "decode-message", str(exc), None)
            return None
        stream_id = message.stream_id
        if event.key != stream_id.encode():
            # The key decides the partition, and so the worker and table entry of a
            # stream: a message keyed otherwise would be tracked in the wrong place.
            reason = f"key {event.key!r} is not the {model.kind}'s stream id {stream_id!r}"
            await self.reject(event, "validate-key", reason, stream_id)
            return None
        return message


@dataclass(frozen=True, slots=True)
class _Topics:
    frames: faust.TopicT
    chunks: faust.TopicT
    tracks: faust.TopicT
    events: faust.TopicT
    dead: faust.TopicT

    @classmethod
    def of(cls, app: faust.App, names: TopicNames) -> _Topics:
        def topic(name: str) -> faust.TopicT:
            return app.topic(
                name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            )

        return cls(
            topic(names.frames),
            topic(names.video_chunks),
            topic(names.tracks),
            topic(names.events),
            topic(names.dead_letter),
        )


def create_app(
    settings: Settings,
    bootstrap: str,
    processor: FrameProcessor,
    executor: Executor,
    *,
    rules: RulesSource | None = None,
    metrics: WorkerMetrics | None = None,
) -> faust.App:
    """A Faust app that turns frames and video chunks into per-frame tracks, and the tracks
    of streams with ``rules`` into analytics events.

    ``processor`` does the work in ``executor`` (one thread), off the event loop, so
    heartbeats and commits go on while a frame is being detected.
    """
    app = _faust_app(settings, bootstrap)
    topics = _Topics.of(app, settings.topics)
    intake = _Intake(app, topics.dead, metrics or WorkerMetrics(group=settings.worker_id))
    analytics = None if rules is None else _Analytics(app, settings, rules)
    _add_tracking(
        app, settings, topics, intake, processor=processor, executor=executor, analytics=analytics
    )
    _add_consumer_metrics(app, settings, intake.metrics)
    _add_assignment_log(app, settings)
    return app


def _input_topics(names: TopicNames) -> dict[str, str]:
    """The topics the worker's agents read, each with its role."""
    return {names.frames: "frames", names.video_chunks: "video_chunks"}


def held_input_partitions(assigned: Iterable[TP], names: TopicNames) -> dict[str, list[int]]:
    """The worker's input partitions in ``assigned`` (topic partitions), by topic role:
    ``{"frames": [0, 2], "video_chunks": [0, 2]}``; a role without any
    is left out, and so are the tables' changelogs and Faust's own topics."""
    roles = _input_topics(names)
    held: dict[str, list[int]] = {}
    for tp in assigned:
        if (role := roles.get(tp.topic)) is not None:
            held.setdefault(role, []).append(tp.partition)
    return {role: sorted(held[role]) for role in roles.values() if role in held}


def _add_assignment_log(app: faust.App, settings: Settings) -> None:
    """One line for each assignment the worker gets (at start and after every rebalance):
    which partitions, and so which streams, it now holds."""

    async def log_assignment(sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        (assigned,) = args  # the signal is sent with the set of topic partitions
        held = held_input_partitions(assigned, settings.topics)
        log.info("partitions assigned", extra={"worker_id": settings.worker_id, **held})

    app.on_partitions_assigned.connect(log_assignment)


def _add_consumer_metrics(app: faust.App, settings: Settings, metrics: WorkerMetrics) -> None:
    """The consumer lag of the input partitions this worker holds and the records its
    consumer dropped and read again, on a timer."""
    inputs = set(_input_topics(settings.topics))

    @app.timer(interval=settings.worker_lag_interval_s)  # type: ignore[untyped-decorator]
    async def report_consumer_metrics() -> None:
        consumer = _consumer(app)
        metrics.consumer_lag.record(consumer.partition_offsets(inputs))
        for topic, count in consumer.take_dropped().items():
            metrics.records_dropped.labels(topic).inc(count)


_Fresh = list[tuple[Any, FrameMessage]]  # frames to track, each with its event


async def _fresh_frames(
    events: Sequence[Any], intake: _Intake, applied: faust.types.TableT[str, int]
) -> tuple[_Fresh, dict[str, int]]:
    """The events of a take holding frames not applied yet, and each stream's newest."""
    fresh: _Fresh = []
    newest: dict[str, int] = {}
    for event in events:
        if (
            not await intake.admit(event)
            or (frame := await intake.read(event, FrameMessage)) is None
        ):
            continue
        intake.metrics.frames_in.labels(frame.stream_id).inc()
        last = newest.get(frame.stream_id, applied.get(frame.stream_id, -1))
        if frame.frame_no <= last:
            intake.metrics.frames_skipped.labels(frame.stream_id).inc()
            log.debug(
                "skipping frame already applied",
                extra={"stream_id": frame.stream_id, "frame_no": frame.frame_no},
            )
            continue
        newest[frame.stream_id] = frame.frame_no
        fresh.append((event, frame))
    return fresh, newest


class _Analytics:
    """Line, zone and dwell events of the streams that have rules, from each frame's tracks
    as the tracking agents make them: no second pass over the tracks topic.

    Each stream's analytics state goes to the ``analytics-state`` table (msgpack snapshots)
    together with its tracker's state, once per take, after the take's tracks and events
    are delivered: a frame counts as applied for both at once, so a replayed frame is
    skipped by both or applied again by both, and a stream continues where it was left on
    whichever worker applies its next frame. Rules are reloaded from the database on a
    timer; streams without rules cost a lookup a frame.
    """

    def __init__(self, app: faust.App, settings: Settings, rules: RulesSource) -> None:
        self.state = app.Table("analytics-state", key_type=str, value_type=bytes)
        self._runner = AnalyticsRunner(rules.rules_of, lost_after_frames=settings.tracker_max_age)

        @app.timer(interval=settings.analytics_rules_refresh_s)  # type: ignore[untyped-decorator]
        async def refresh_rules() -> None:
            await asyncio.get_running_loop().run_in_executor(None, rules.reload)

    def apply(self, tracks: FrameTracks, snapshots: dict[str, bytes]) -> FrameEvents | None:
        """The events of a frame's tracks, None if none (or its stream has no rules); its
        stream's new snapshot goes into ``snapshots``, the take's, from which it is read
        back for the stream's next frame and stored when the take is recorded."""
        stream_id = tracks.stream_id
        if not self._runner.wants(stream_id):
            return None
        stored = snapshots.get(stream_id) or self.state.get(stream_id)
        applied = self._runner.apply(tracks, stored)
        if applied is None:
            return None
        snapshots[stream_id] = applied.snapshot
        return applied.events


@dataclass(slots=True)
class _Take:
    """What the tracking agents sent for a take of frames, and what to record after it."""

    sent: list[Awaitable[Any]] = field(default_factory=list)  # tracks and events
    latest: dict[str, tuple[Any, int]] = field(default_factory=dict)  # stream: event, frame
    analytics: dict[str, bytes] = field(default_factory=dict)  # stream: analytics snapshot


class _TrackerTables:
    """The tables of the tracking agents, all keyed by stream id (journal: by stream and slot).

    ``applied-frames`` holds each stream's last applied frame (replayed frames at or below it
    are skipped); ``tracker-snapshots`` and ``tracker-journal`` hold what brings its tracker
    back on another worker (:mod:`processors.tracking.durable`); ``analytics-state``, when
    the worker runs analytics, its analytics (:class:`_Analytics`).
    """

    def __init__(self, app: faust.App, settings: Settings, analytics: _Analytics | None) -> None:
        # A snapshot holds up to tracks x gallery budget x embedding size floats: its
        # changelog takes records as large as the stream topics do.
        large = {"max.message.bytes": str(settings.message_max_bytes)}
        self.applied = app.Table("applied-frames", key_type=str, value_type=int)
        self.snapshots = app.Table(
            "tracker-snapshots", key_type=str, value_type=bytes, extra_topic_configs=large
        )
        self.journal = app.Table(
            "tracker-journal", key_type=str, value_type=bytes, extra_topic_configs=large
        )
        self.analytics_state = None if analytics is None else analytics.state
        self._slots = settings.tracker_snapshot_every_frames
        self._partitions: dict[str, int] = {}  # the input partition of each stream synced

    async def forget_moved(
        self, held: Collection[int], processor: FrameProcessor, executor: Executor
    ) -> None:
        """Drop the trackers of the streams on partitions this worker no longer holds (an
        assignment after a rebalance): they are another worker's now."""
        moved = [s for s, partition in self._partitions.items() if partition not in held]
        if not moved:
            return
        for stream_id in moved:
            del self._partitions[stream_id]
            log.info("tracker dropped: the stream moved away", extra={"stream_id": stream_id})
        await asyncio.get_running_loop().run_in_executor(executor, processor.forget, moved)

    async def sync(
        self, partitions: Mapping[str, int], processor: FrameProcessor, executor: Executor
    ) -> None:
        """Restore the trackers of the streams of ``partitions`` (stream id: its input
        partition) whose state here is not the stored one: streams new to this worker after
        a restart or rebalance, or moved away and back."""
        self._partitions.update(partitions)
        loop = asyncio.get_running_loop()
        for stream_id in partitions:
            applied = self.applied.get(stream_id, -1)
            if processor.covered(stream_id) != applied:
                stored = StoredTracker.read(
                    stream_id, self.snapshots.get, self.journal.get, self._slots
                )
                await loop.run_in_executor(executor, processor.restore, stream_id, stored, applied)

    async def record_after_delivery(
        self, take: _Take, processor: FrameProcessor, executor: Executor
    ) -> None:
        """Wait until the broker has every record the take sent while the trackers of its
        streams are serialized, then record each stream's state: one write per table and
        stream, after its tracks and events are delivered."""
        through = {stream_id: frame_no for stream_id, (_, frame_no) in take.latest.items()}
        checkpoints = asyncio.get_running_loop().run_in_executor(
            executor, processor.checkpoints, through
        )
        _, writes = await asyncio.gather(delivered(take.sent), checkpoints)
        for stream_id, (event, frame_no) in take.latest.items():
            # Changelog records on the partition of the stream's latest event; the applied
            # frame last, once the state that covers it is stored.
            partition = event.message.partition
            write = writes[stream_id]
            table = self.snapshots if write.table == "snapshots" else self.journal
            _set_on_partition(table, partition, write.key, write.value)
            if self.analytics_state is not None and stream_id in take.analytics:
                snapshot = take.analytics[stream_id]
                _set_on_partition(self.analytics_state, partition, stream_id, snapshot)
            _set_on_partition(self.applied, partition, stream_id, frame_no)


async def delivered(sends: Sequence[Awaitable[Any]]) -> None:
    """Wait until the broker has every record of ``sends`` (what ``topic.send`` returned).

    ``topic.send`` only hands a record to the producer. A frame counts as applied once its
    stream's applied-frames entry says so, and a redelivered frame at or below that entry
    is skipped: its tracks must be in the broker before the entry moves, or a record the
    producer still held when the worker was rebalanced or killed would be lost for good.
    A failed delivery raises before the entry moves; Faust logs the agent's crash.
    """
    if sends:
        await asyncio.gather(*sends)


def _set_on_partition(
    table: faust.types.TableT[str, Any], partition: int, key: str, value: Any
) -> None:
    """``table[key] = value`` with its changelog record on ``partition``.

    Faust takes a table write's partition from the current event, which ``take_events``
    leaves unset (faust-streaming issue 497); setting it on the stream by hand races the
    stream's take buffer, which reads it while the agent works on the previous batch.
    """
    table.data[key] = value
    table.send_changelog(partition, key, value)


def _add_tracking(
    app: faust.App,
    settings: Settings,
    topics: _Topics,
    intake: _Intake,
    *,
    processor: FrameProcessor,
    executor: Executor,
    analytics: _Analytics | None,
) -> None:
    """The frames and chunks agents, sharing the tracker tables."""
    tables = _TrackerTables(app, settings, analytics)

    async def forget_moved_streams(sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        (assigned,) = args  # the signal is sent with the set of topic partitions
        by_role = held_input_partitions(assigned, settings.topics)
        held = {partition for partitions in by_role.values() for partition in partitions}
        await tables.forget_moved(held, processor, executor)

    app.on_partitions_assigned.connect(forget_moved_streams)

    async def send(take: _Take, tracks: FrameTracks) -> None:
        """Send a frame's tracks and, for a stream with rules, the events they give."""
        key = tracks.stream_id.encode()
        take.sent.append(await topics.tracks.send(key=key, value=tracks.to_bytes()))
        intake.metrics.frames_out.labels(tracks.stream_id).inc()
        if analytics is None or (events := analytics.apply(tracks, take.analytics)) is None:
            return
        take.sent.append(await topics.events.send(key=key, value=events.to_bytes()))
        for one in events.events:
            intake.metrics.events.labels(one.kind).inc()

    async def track_frames(fresh: _Fresh, newest: dict[str, int]) -> _Take:
        """Track a take's frames: its batches all queued for the models thread at once,
        each batch's tracks sent while the next runs."""
        take = _Take()
        submitted = _submit_batches(fresh, settings.batch_max_frames, processor, executor)
        try:
            for batch, tracked in submitted:
                for (event, frame), result in zip(batch, await tracked, strict=True):
                    take.latest[frame.stream_id] = (event, newest[frame.stream_id])
                    if isinstance(result, FrameDecodeError):
                        await intake.reject(event, "decode-frame", str(result), frame.stream_id)
                    else:
                        await send(take, result)
        finally:
            for _, tracked in submitted:  # after a failed batch: those not started
                tracked.cancel()
        return take

    # One at a time: the agents write tables. An agent that raises stops the worker
    # (see _Intake.finishing) rather than be restarted by Faust.
    @app.agent(topics.frames, concurrency=1, supervisor_strategy=CrashingSupervisor)
    async def process_frames(stream: faust.StreamT[bytes]) -> None:
        # take_events is on faust.Stream, the class of every agent stream, not on StreamT.
        assert isinstance(stream, faust.Stream)
        size = settings.batch_max_frames * settings.batches_per_take
        # A take's events are acknowledged when the next take is asked for: after its
        # tracks are delivered and its streams' state recorded, below.
        async for events in stream.take_events(size, settings.batch_max_wait_s):
            with intake.finishing(events):
                fresh, newest = await _fresh_frames(events, intake, tables.applied)
                if not fresh:
                    continue
                streams = {frame.stream_id: event.message.partition for event, frame in fresh}
                await tables.sync(streams, processor, executor)
                take = await track_frames(fresh, newest)
                await tables.record_after_delivery(take, processor, executor)

    @app.agent(topics.chunks, concurrency=1, supervisor_strategy=CrashingSupervisor)  # same tables
    async def process_chunks(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        # As with frames: every chunk of a take is queued for the models thread at once,
        # each chunk's tracks are sent while the next runs, and the streams' state is
        # recorded once the take's tracks are delivered. Each chunk is decoded on a decode
        # thread while the models thread tracks the one before.
        async for events in stream.take_events(
            settings.batches_per_take, settings.batch_max_wait_s
        ):
            with intake.finishing(events):
                fresh = await _fresh_chunks(events, intake, tables.applied)
                if not fresh:
                    continue
                streams = {chunk.stream_id: event.message.partition for event, chunk, _ in fresh}
                await tables.sync(streams, processor, executor)
                take = await _track_chunks(fresh, processor, executor, intake, send)
                await tables.record_after_delivery(take, processor, executor)


_FreshChunks = list[tuple[Any, VideoChunk, int]]  # event, chunk, last frame applied before


async def _fresh_chunks(
    events: Sequence[Any], intake: _Intake, applied: faust.types.TableT[str, int]
) -> _FreshChunks:
    """The events of a take holding chunks with frames not applied yet, each with the last
    frame of its stream applied before it (its frames up to that one are skipped)."""
    fresh: _FreshChunks = []
    newest: dict[str, int] = {}
    for event in events:
        if not await intake.admit(event) or (chunk := await intake.read(event, VideoChunk)) is None:
            continue
        intake.metrics.frames_in.labels(chunk.stream_id).inc(chunk.frame_count)
        after = newest.get(chunk.stream_id, applied.get(chunk.stream_id, -1))
        last = chunk.first_frame_no + chunk.frame_count - 1
        if last <= after:
            log.debug(
                "skipping chunk already applied",
                extra={"stream_id": chunk.stream_id, "chunk_no": chunk.chunk_no},
            )
            continue
        newest[chunk.stream_id] = last
        fresh.append((event, chunk, after))
    return fresh


async def _track_chunks(
    fresh: _FreshChunks,
    processor: FrameProcessor,
    executor: Executor,
    intake: _Intake,
    send: Callable[[_Take, FrameTracks], Awaitable[None]],
) -> _Take:
    """Track a take's chunks, each decoded on a decode thread while the models thread
    tracks the one before, and send each chunk's tracks while the next runs."""
    loop = asyncio.get_running_loop()
    take = _Take()
    ahead = processor.decode_ahead([(chunk, after) for _, chunk, after in fresh])
    submitted = [
        (event, chunk, loop.run_in_executor(executor, processor.track_ahead, ahead, i))
        for i, (event, chunk, _) in enumerate(fresh)
    ]
    try:
        for event, chunk, tracked in submitted:
            result = await tracked
            for tracks in result.frames:
                await send(take, tracks)
            if result.frames:
                take.latest[chunk.stream_id] = (event, result.frames[-1].frame_no)
            if result.error is not None:
                await intake.reject(event, "decode-chunk", str(result.error), chunk.stream_id)
    finally:
        for _, _, tracked in submitted:  # after a failed chunk: those not started
            tracked.cancel()
        ahead.cancel()
    return take


def _submit_batches(
    fresh: _Fresh, size: int, processor: FrameProcessor, executor: Executor
) -> list[tuple[_Fresh, asyncio.Future[list[FrameTracks | FrameDecodeError]]]]:
    """Hand ``fresh`` to ``executor`` in batches of at most ``size`` frames, all at once,
    each with its future result.

    The executor's one thread runs them back to back, in order (a stream's frames reach
    its tracker in order), so the models go on with the next batch while the event loop
    sends the tracks of the one before instead of waiting for that.
    """
    loop = asyncio.get_running_loop()
    return [
        (batch, loop.run_in_executor(executor, processor.process_messages, [f for _, f in batch]))
        for batch in (fresh[i : i + size] for i in range(0, len(fresh), size))
    ]
