"""The Faust application of the worker: topics, the applied-frames table and the agent.

Every stream topic is keyed by stream id and shares one partition count, so a stream's
frames, its table entry and its tracker live on one worker.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any

import faust

from processors.pipeline.dead_letters import dead_letter
from processors.pipeline.frame_processor import FrameDecodeError, FrameProcessor
from schemas.codec import MessageDecodeError
from schemas.frames import FrameMessage
from visiontrack.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def faust_broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server}" for server in bootstrap.split(",")]


def create_app(
    settings: Settings, bootstrap: str, processor: FrameProcessor, executor: Executor
) -> faust.App:
    """A Faust app that turns frames into per-frame tracks.

    ``processor`` does the work in ``executor`` (one thread), off the event loop, so
    heartbeats and commits go on while a frame is being detected.
    """
    app = faust.App(
        settings.worker_id,
        broker=faust_broker_urls(bootstrap),
        datadir=str(settings.data_dir / "faust"),
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        broker_session_timeout=settings.broker_session_timeout_s,
        broker_heartbeat_interval=settings.broker_heartbeat_interval_s,
        producer_max_batch_size=settings.worker_producer_max_batch_size,
        producer_max_request_size=settings.message_max_bytes,
        consumer_max_fetch_size=settings.message_max_bytes,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
    )
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    frames_topic = app.topic(settings.topics.frames, key_type=bytes, value_type=bytes, **raw)
    tracks_topic = app.topic(settings.topics.tracks, key_type=bytes, value_type=bytes, **raw)
    dead_topic = app.topic(settings.topics.dead_letter, key_type=bytes, value_type=bytes, **raw)
    # stream id -> last frame number applied; replayed frames at or below it are skipped.
    applied = app.Table("applied-frames", key_type=str, value_type=int)

    async def send_dead_letter(event: Any, stage: str, reason: str, stream_id: str | None) -> None:
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
        await dead_topic.send(key=event.key, value=record.to_bytes())

    @app.agent(frames_topic, concurrency=1)  # writes a table: one at a time
    async def process_frames(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        async for event in stream.events():
            try:
                frame = FrameMessage.from_bytes(event.value)
            except MessageDecodeError as exc:
                await send_dead_letter(event, "decode-message", str(exc), None)
                continue
            if event.key != frame.stream_id.encode():
                # The key decides the partition, and so the worker and table entry of a
                # stream: a frame keyed otherwise would be tracked in the wrong place.
                reason = f"key {event.key!r} is not the frame's stream id {frame.stream_id!r}"
                await send_dead_letter(event, "validate-key", reason, frame.stream_id)
                continue
            if frame.stream_id in applied and frame.frame_no <= applied[frame.stream_id]:
                log.debug(
                    "skipping frame already applied",
                    extra={"stream_id": frame.stream_id, "frame_no": frame.frame_no},
                )
                continue
            try:
                result = await loop.run_in_executor(executor, processor.process, frame)
            except FrameDecodeError as exc:
                await send_dead_letter(event, "decode-frame", str(exc), frame.stream_id)
                continue
            await tracks_topic.send(key=frame.stream_id.encode(), value=result.to_bytes())
            applied[frame.stream_id] = frame.frame_no

    return app
