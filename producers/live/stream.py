"""One live stream: a capture thread that keeps up and a publish thread that encodes and sends.

Capture reads every frame the source gives (so the camera's buffer never fills with stale
frames), keeps those the :class:`~producers.live.throttle.Throttle` admits and puts them in
a :class:`~producers.live.latest.DropOldestQueue`; when publishing falls behind the oldest
frame is dropped, counted, and reported at most every few seconds. When the source fails
to open or read, it is reopened after a backoff delay with full jitter, reset once frames
flow again. Publishing sends each frame as JPEG or, with ``LiveOptions.chunks``, feeds a
:class:`~producers.live.chunker.LiveChunker` and sends the H.264 chunks it closes. Setting
the stop event ends both threads: capture stops, publishing drains the queue (and sends the
open chunk), and the process's publisher flushes afterwards.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from producers.chunks import ChunkPlan, chunk_message
from producers.frames import EncodeError, encode_image
from producers.live.chunker import LiveChunk, LiveChunker
from producers.live.figures import DropReport, LiveCounters, LiveFigures, StreamState
from producers.live.latest import DropOldestQueue
from producers.live.numbers import FrameNumbers
from producers.live.throttle import Throttle
from producers.publisher import FramePublisher
from producers.sources.live import LiveCapture, LiveSource
from producers.video_file import SourceError
from schemas.frames import FrameMessage
from schemas.video_chunks import VideoChunk
from visiontrack.backoff import Backoff, BackoffPolicy

__all__ = ["Captured", "LiveOptions", "LiveStream"]

log = logging.getLogger(__name__)

_GET_TIMEOUT_S = 0.5
DEFAULT_CHUNK_FPS = 30.0  # the encoder's nominal rate when no target rate is set


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How a live stream is captured and encoded."""

    target_fps: float | None = None  # None: as fast as the source gives frames
    queue_frames: int = 4
    max_in_flight: int = 30  # frames sent but not yet acknowledged by the broker
    jpeg_quality: int = 90
    frame_max_bytes: int | None = None
    reconnect: BackoffPolicy = field(default_factory=BackoffPolicy)
    report_interval_s: float = 5.0  # at most one drop warning per interval
    chunks: ChunkPlan | None = None  # None: JPEG frames; else H.264 chunks cut by this plan
    chunk_limit: int | None = None  # the most bytes a chunk message may take


@dataclass(frozen=True, slots=True)
class Captured:
    image: npt.NDArray[np.uint8]
    captured_at: float  # seconds since the epoch


class LiveStream:
    """Capture and publish threads of ``stream_id``; see the module docstring."""

    def __init__(
        self,
        stream_id: str,
        source: LiveSource,
        publisher: FramePublisher,
        *,
        numbers: FrameNumbers,
        options: LiveOptions,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream_id = stream_id
        self.source = source
        self._publisher = publisher
        self.numbers = numbers
        self._options = options
        self._stop = stop
        self._clock = clock
        self._queue: DropOldestQueue[Captured] = DropOldestQueue(options.queue_frames)
        self._counters = LiveCounters()
        self._extra = {"stream_id": stream_id, "source": source.description}
        self._threads = [
            threading.Thread(target=self._guard(self._capture), name=f"capture-{stream_id}"),
            threading.Thread(target=self._guard(self._publish), name=f"publish-{stream_id}"),
        ]
        self.error: BaseException | None = None
        self._resized_reported = False
        # A chunk holds many frames: bound chunks in flight to about as many frames.
        plan = options.chunks
        self._max_in_flight = (
            options.max_in_flight
            if plan is None
            else 1 + math.ceil(options.max_in_flight / (plan.seconds * self._nominal_fps))
        )

    # Lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for thread in self._threads:
            thread.daemon = True  # a read stuck in a driver must not keep the process alive
            thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for both threads; returns whether they ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not self.alive

    def abandon_capture(self) -> None:
        """Let publishing finish without waiting for a capture stuck in a read."""
        self._queue.close()

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def figures(self) -> LiveFigures:
        return self._counters.snapshot()

    def _guard(self, body: Callable[[], None]) -> Callable[[], None]:
        """A thread body whose unexpected error stops the whole process, loudly."""

        def run() -> None:
            try:
                body()
            except BaseException as exc:
                self.error = exc
                self._counters.update(state=StreamState.FAILED, last_error=repr(exc))
                log.exception("stream thread failed; stopping", extra=self._extra)
                self._stop.set()
                self._queue.close()

        return run

    # Capture --------------------------------------------------------------------------

    def _capture(self) -> None:
        backoff = Backoff(self._options.reconnect)
        throttle = Throttle(self._options.target_fps)
        drops = DropReport(self._options.report_interval_s)
        try:
            while not self._stop.is_set():
                try:
                    capture = self.source.open()
                except SourceError as exc:
                    self._wait_to_retry(backoff, str(exc))
                    continue
                try:
                    self._read(capture, backoff, throttle, drops)
                finally:
                    capture.close()
                if not self._stop.is_set():
                    self._counters.add("reconnects")
                    self._wait_to_retry(backoff, self._counters.snapshot().last_error or "")
        finally:
            self._queue.close()
            unreported = drops.flush()
            if unreported:
                log.warning("dropped %d frames before stopping", unreported, extra=self._extra)

    def _wait_to_retry(self, backoff: Backoff, reason: str) -> None:
        delay = backoff.next_delay()
        self._counters.update(state=StreamState.RECONNECTING, last_error=reason)
        log.warning(
            "%s; reconnecting in %.1fs (attempt %d)",
            reason,
            delay,
            backoff.attempt,
            extra=self._extra,
        )
        self._stop.wait(delay)

    def _read(
        self, capture: LiveCapture, backoff: Backoff, throttle: Throttle, drops: DropReport
    ) -> None:
        """Read until the source fails or stop is set; a failure is recorded, not raised."""
        connected = False
        while not self._stop.is_set():
            try:
                image = capture.read()
            except SourceError as exc:
                self._counters.update(last_error=f"read failed: {exc}")
                return
            if self._stop.is_set():
                return
            if not connected:
                connected = True
                backoff.reset()
                self._counters.update(state=StreamState.LIVE)
                log.info("receiving frames", extra=self._extra)
            self._counters.add("captured")
            if not throttle.admit(self._clock()):
                self._counters.add("throttled")
                continue
            if self._queue.put(Captured(image, time.time())) is not None:
                self._counters.add("dropped")
                reported = drops.add(self._clock())
                if reported:
                    log.warning(
                        "publishing is behind: dropped the oldest of %d frames "
                        "(%d dropped in total)",
                        reported,
                        drops.total,
                        extra=self._extra,
                    )

    # Publish --------------------------------------------------------------------------

    def _publish(self) -> None:
        plan = self._options.chunks
        chunker = None if plan is None else LiveChunker(plan, self._nominal_fps)
        while not self._queue.finished:
            item = self._queue.get(_GET_TIMEOUT_S)
            if item is None:
                continue
            if chunker is None:
                self._publish_frame(item)
                continue
            try:
                closed = chunker.add(item.image, item.captured_at)
            except EncodeError as exc:
                self._counters.add("failed")
                log.error("frame not sent: %s", exc, extra=self._extra)
                continue
            for chunk in closed:
                self._publish_chunk(chunk)
        last = None if chunker is None else chunker.flush()
        if last is not None:
            self._publish_chunk(last)

    @property
    def _nominal_fps(self) -> float:
        return self._options.target_fps or DEFAULT_CHUNK_FPS

    def _publish_frame(self, item: Captured) -> None:
        number = self.numbers.next()
        try:
            message = encode_image(
                item.image,
                stream_id=self.stream_id,
                frame_no=number,
                source=self.source.description,
                jpeg_quality=self._options.jpeg_quality,
                max_bytes=self._options.frame_max_bytes,
                captured_at=item.captured_at,
            )
        except EncodeError as exc:
            self._counters.add("failed")
            log.error("frame not sent: %s", exc, extra=self._extra)
            return
        if not self._resized_reported and message.width != item.image.shape[1]:
            self._resized_reported = True
            log.warning(
                "frames of %dx%d are over %s bytes: sent scaled down to %dx%d",
                item.image.shape[1],
                item.image.shape[0],
                self._options.frame_max_bytes,
                message.width,
                message.height,
                extra=self._extra,
            )
        self._send(message, frames=1, last_captured_at=item.captured_at)

    def _publish_chunk(self, live: LiveChunk) -> None:
        chunk = live.chunk
        first = self.numbers.take(chunk.frame_count)
        message = chunk_message(
            chunk,
            stream_id=self.stream_id,
            first_frame_no=first - chunk.first_index,
            fps=live.fps,
            job_id=None,
        )
        size = len(message.to_bytes())
        if self._options.chunk_limit is not None and size > self._options.chunk_limit:
            self._counters.add("failed", chunk.frame_count)
            log.error(
                "chunk of frames %d-%d not sent: %d bytes, over the %d a message may "
                "(lower VISIONTRACK_CHUNK_MAX_BYTES or VISIONTRACK_CHUNK_SECONDS)",
                first,
                first + chunk.frame_count - 1,
                size,
                self._options.chunk_limit,
                extra=self._extra,
            )
            return
        self._send(message, frames=chunk.frame_count, last_captured_at=live.last_captured_at)

    def _send(
        self, message: FrameMessage | VideoChunk, frames: int, last_captured_at: float
    ) -> None:
        # A slow or absent broker holds this thread here, so capture drops the oldest
        # frames instead of librdkafka buffering stale ones. Stop interrupts only this
        # wait: the messages already handed over are flushed by the owner.
        if not self._publisher.publish(message, self._stop, max_in_flight=self._max_in_flight):
            self._counters.add("failed", frames)
            return
        self._counters.add("published", frames)
        self._counters.update(last_frame_at=last_captured_at)
