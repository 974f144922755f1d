"""decode → detect → embed → track for frames and video chunks of many streams, in batches,
one tracker per stream."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from processors.detection.detector import Detections, YoloDetector
from processors.pipeline.chunk_decoder import ChunkDecodeError, decode_chunk
from processors.tracking.durable import (
    DurableTracker,
    RestoreReport,
    StateWrite,
    StoredTracker,
    TrackerInput,
)
from processors.tracking.embedder import Embedder, crop_boxes
from processors.tracking.tracker import StreamTracker, TrackBox
from processors.tracking.tracker_state import TrackerStateError
from schemas.frames import FrameMessage
from schemas.tracks import DetectedObject, FrameTracks, TrackedObject
from schemas.video_chunks import VideoChunk

__all__ = [
    "ChunkTracks",
    "ChunksAhead",
    "DecodedChunk",
    "FrameDecodeError",
    "FrameInput",
    "FrameProcessor",
    "decode_chunk_frames",
    "decode_jpeg",
]

log = logging.getLogger(__name__)


class FrameDecodeError(ValueError):
    """A frame's JPEG payload could not be decoded."""


def decode_jpeg(data: bytes) -> npt.NDArray[np.uint8]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameDecodeError(f"payload of {len(data)} bytes is not a decodable JPEG")
    return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class ChunkTracks:
    """The tracks of a chunk's frames, in order, and the decode error that cut it short."""

    frames: list[FrameTracks]
    error: ChunkDecodeError | None


@dataclass(frozen=True, slots=True)
class DecodedChunk:
    """A chunk's frames above the stream's last applied one, and the decode error that cut
    it short."""

    frames: list[FrameInput]
    error: ChunkDecodeError | None
    decode_s: float


@dataclass(frozen=True, slots=True)
class FrameInput:
    """One decoded (H, W, 3) BGR frame of a stream, and what its result carries along."""

    image: npt.NDArray[np.uint8]
    stream_id: str
    frame_no: int
    captured_at: float
    job_id: str | None = None
    total_frames: int | None = None

    @classmethod
    def from_message(cls, frame: FrameMessage) -> FrameInput:
        """The frame of a ``frames`` message; :class:`FrameDecodeError` if its JPEG is bad."""
        return cls(
            decode_jpeg(frame.jpeg),
            frame.stream_id,
            frame.frame_no,
            frame.captured_at,
            frame.job_id,
            frame.total_frames,
        )


def _decoded_or_error(frame: FrameMessage) -> FrameInput | FrameDecodeError:
    try:
        return FrameInput.from_message(frame)
    except FrameDecodeError as exc:
        return exc


class FrameProcessor:
    """Turns frames of many streams into :class:`FrameTracks`, a batch at a time.

    A batch is detected in one call and the crops of all its boxes are embedded in one
    call; then each frame, in order, advances its own stream's tracker. Trackers live in a
    dict keyed by stream id; all per-stream state is in its tracker, which also says what to
    store for it (:meth:`checkpoints`) and is brought back from that (:meth:`restore`). Not
    thread-safe: call from one thread (the worker runs it in a single-thread executor).
    """

    def __init__(
        self,
        detector: YoloDetector,
        embedder: Embedder,
        tracker_factory: Callable[[str], StreamTracker],
        *,
        track_confidence: float = 0.0,
        batch_size: int = 1,
        snapshot_every: int = 100,
        on_batch: Callable[[int, dict[str, float]], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._detector = detector
        self._track_confidence = track_confidence
        self._embedder = embedder
        self._tracker_factory = tracker_factory
        self._trackers: dict[str, DurableTracker] = {}
        self._snapshot_every = snapshot_every  # frames between tracker snapshots
        self.batch_size = batch_size  # the most frames of a chunk detected in one call
        # Told each batch's frame count and the seconds of each stage (metrics).
        self._on_batch = on_batch
        self._decoder = ThreadPoolExecutor(
            max_workers=min(os.cpu_count() or 1, 8), thread_name_prefix="jpeg-decode"
        )

    def _tracker(self, stream_id: str) -> DurableTracker:
        tracker = self._trackers.get(stream_id)
        if tracker is None:
            tracker = self._trackers[stream_id] = DurableTracker(
                self._tracker_factory(stream_id), snapshot_every=self._snapshot_every
            )
        return tracker

    def covered(self, stream_id: str) -> int | None:
        """The last frame of the stream this worker's tracker state covers (as of its last
        checkpoint), or None if it has none: the tables hold the truth when they differ."""
        tracker = self._trackers.get(stream_id)
        return None if tracker is None else tracker.through

    def forget(self, stream_ids: Iterable[str]) -> None:
        """Drop the trackers of ``stream_ids``, streams moved to another worker: a worker
        keeps trackers only for the streams it holds, and one that comes back is restored
        from the tables."""
        for stream_id in stream_ids:
            self._trackers.pop(stream_id, None)

    def checkpoints(self, through: Mapping[str, int]) -> dict[str, StateWrite]:
        """What to store for each stream that has applied its frames up to ``through``."""
        return {s: self._tracker(s).checkpoint(s, last) for s, last in through.items()}

    def restore(self, stream_id: str, stored: StoredTracker, applied: int) -> RestoreReport:
        """Bring the stream's tracker to frame ``applied`` from what the tables hold.

        Unreadable state is logged and the stream starts over with a fresh tracker (and so
        new track ids): better than stopping every stream of the partition.
        """
        context = {"stream_id": stream_id, "applied": applied}
        try:
            fresh = self._tracker_factory(stream_id)
            durable, report = DurableTracker.restore(
                fresh, stored, applied, snapshot_every=self._snapshot_every
            )
        except TrackerStateError as exc:
            log.error("tracker state unreadable, starting a fresh tracker: %s", exc, extra=context)
            durable = DurableTracker(
                self._tracker_factory(stream_id),
                snapshot_every=self._snapshot_every,
                through=applied,
                snapshot_due=True,
            )
            report = RestoreReport(-1, 0, -1, applied + 1)
        self._trackers[stream_id] = durable
        if report.missing:
            log.warning(
                "tracker restored through frame %d: %d applied frames missing from its journal",
                report.through,
                report.missing,
                extra=context,
            )
        elif applied >= 0:
            log.info(
                "tracker restored from the snapshot through frame %d and %d journaled frames",
                report.snapshot_through,
                report.replayed,
                extra=context,
            )
        return report

    def warm_up(self, height: int = 480, width: int = 640) -> float:
        """Run the detector on a batch of blank frames and the embedder on a crop of one,
        so that a stream's first frames wait for no model setup: Ultralytics sets up its
        predictor on its first call (2.4-4.7 s on these 2 cores against 0.2-0.3 s a batch
        of 8 after, whatever the frame size). No tracker is touched and no batch reported.
        Returns the seconds it took."""
        started = time.perf_counter()
        blank = np.zeros((height, width, 3), dtype=np.uint8)
        self._detector.detect([blank] * self.batch_size)
        box = np.array([[0.0, 0.0, width / 4, height / 2]], dtype=np.float32)
        self._embedder.embed(crop_boxes(blank, box))
        return time.perf_counter() - started

    def process(self, frame: FrameMessage) -> FrameTracks:
        """Track a ``frames`` message; :class:`FrameDecodeError` if its JPEG is bad."""
        return self.process_batch([FrameInput.from_message(frame)])[0]

    def process_messages(
        self, frames: Sequence[FrameMessage]
    ) -> list[FrameTracks | FrameDecodeError]:
        """Track ``frames`` as one batch; a frame whose JPEG is bad gets its error, in place.

        The JPEGs are decoded on every core at once (OpenCV lets go of the GIL): alone on
        the calling thread, decoding took 1.1 ms a frame of 640x480, on two 0.6 ms.
        """
        started = time.perf_counter()
        decoded = list(self._decoder.map(_decoded_or_error, frames))
        decode_s = time.perf_counter() - started
        good = [d for d in decoded if isinstance(d, FrameInput)]
        tracked = iter(self.process_batch(good, decode_s=decode_s))
        return [d if isinstance(d, FrameDecodeError) else next(tracked) for d in decoded]

    def process_chunk(self, chunk: VideoChunk, after: int) -> ChunkTracks:
        """Track the frames of a ``video-chunks`` message numbered above ``after`` (the last
        frame already applied for the stream), ``batch_size`` frames at a time. A chunk that
        fails to decode part-way keeps the tracks of the frames before the damage and
        reports the error beside them."""
        return self.track_decoded(decode_chunk_frames(chunk, after))

    def decode_ahead(self, chunks: Sequence[tuple[VideoChunk, int]]) -> ChunksAhead:
        """``chunks`` (each with its ``after``), decoded on the decode threads one chunk
        ahead of :meth:`track_decoded`: see :class:`ChunksAhead`."""
        return ChunksAhead(self._decoder, chunks)

    def track_ahead(self, ahead: ChunksAhead, index: int) -> ChunkTracks:
        """Track chunk ``index`` of ``ahead`` once decoded (call in chunk order)."""
        return self.track_decoded(ahead.take(index))

    def track_decoded(self, decoded: DecodedChunk) -> ChunkTracks:
        """Track a decoded chunk's frames, ``batch_size`` at a time."""
        tracks: list[FrameTracks] = []
        frames = decoded.frames
        decode_s = decoded.decode_s / max(1, len(frames))  # each batch's share
        for i in range(0, len(frames), self.batch_size):
            batch = frames[i : i + self.batch_size]
            tracks.extend(self.process_batch(batch, decode_s=decode_s * len(batch)))
        return ChunkTracks(tracks, decoded.error)

    def process_batch(
        self, frames: Sequence[FrameInput], *, decode_s: float = 0.0
    ) -> list[FrameTracks]:
        """Track decoded frames, in order; a stream may have several frames in a batch.

        Each result's ``detect_ms`` and ``track_ms`` are its share of the batch's detection
        and embedding time, plus its own tracker update.
        """
        if not frames:
            return []
        t0 = time.perf_counter()
        detections = self._detect_by_shape(frames)
        t1 = time.perf_counter()
        fed = [self._for_tracker(d) for d in detections]
        # Motion-only streams' boxes are not embedded.
        embedded = [self._tracker(f.stream_id).tracker.appearance for f in frames]
        crops = [
            c
            for f, d, wanted in zip(frames, fed, embedded, strict=True)
            if wanted
            for c in crop_boxes(f.image, d.xyxy)
        ]
        embeddings = self._embedder.embed(crops)
        t2 = time.perf_counter()
        shares_ms = ((t1 - t0) * 1000 / len(frames), (t2 - t1) * 1000 / len(frames))
        results = []
        start = 0
        track_s = 0.0
        for frame, found, kept, wanted in zip(frames, detections, fed, embedded, strict=True):
            t3 = time.perf_counter()
            mine = embeddings[start : start + len(kept)] if wanted else []
            start += len(kept) if wanted else 0
            given = TrackerInput.of(frame.frame_no, kept.xyxy, kept.scores, kept.class_ids, mine)
            boxes = self._tracker(frame.stream_id).update(given)
            track_ms = (time.perf_counter() - t3) * 1000
            track_s += track_ms / 1000
            results.append(self._result(frame, found, boxes, shares_ms[0], shares_ms[1] + track_ms))
        if self._on_batch is not None:
            stages = {"decode": decode_s, "detect": t1 - t0, "embed": t2 - t1, "track": track_s}
            self._on_batch(len(frames), stages)
        return results

    def _detect_by_shape(self, frames: Sequence[FrameInput]) -> list[Detections]:
        """Detections of ``frames``, in order, one detector call per image size.

        Ultralytics pads a batch of mixed sizes to a full square instead of the tighter
        rectangle it uses for one size, which shifts scores and boxes a little: a stream's
        results would then depend on which other streams shared its batch.
        """
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, frame in enumerate(frames):
            by_shape.setdefault(frame.image.shape, []).append(i)
        found: dict[int, Detections] = {}
        for indices in by_shape.values():
            results = self._detector.detect([frames[i].image for i in indices])
            found.update(zip(indices, results, strict=True))
        return [found[i] for i in range(len(frames))]

    def _for_tracker(self, dets: Detections) -> Detections:
        """The detections confident enough to start and extend tracks."""
        keep = dets.scores >= self._track_confidence
        return Detections(dets.xyxy[keep], dets.scores[keep], dets.class_ids[keep])

    def _result(
        self,
        frame: FrameInput,
        detections: Detections,
        boxes: Sequence[TrackBox],
        detect_ms: float,
        track_ms: float,
    ) -> FrameTracks:
        return FrameTracks(
            stream_id=frame.stream_id,
            frame_no=frame.frame_no,
            captured_at=frame.captured_at,
            processed_at=time.time(),
            width=frame.image.shape[1],
            height=frame.image.shape[0],
            detections=tuple(
                DetectedObject(
                    class_id=int(c),
                    confidence=min(max(float(s), 0.0), 1.0),
                    x1=float(b[0]),
                    y1=float(b[1]),
                    x2=float(b[2]),
                    y2=float(b[3]),
                )
                for b, s, c in zip(
                    detections.xyxy, detections.scores, detections.class_ids, strict=True
                )
            ),
            tracks=tuple(
                TrackedObject(
                    track_id=b.track_id,
                    class_id=b.class_id,
                    class_name=self._detector.class_name(b.class_id),
                    confidence=min(max(b.confidence, 0.0), 1.0),
                    x1=b.xyxy[0],
                    y1=b.xyxy[1],
                    x2=b.xyxy[2],
                    y2=b.xyxy[3],
                )
                for b in boxes
            ),
            job_id=frame.job_id,
            total_frames=frame.total_frames,
            detect_ms=detect_ms,
            track_ms=track_ms,
        )


def decode_chunk_frames(chunk: VideoChunk, after: int) -> DecodedChunk:
    """The frames of ``chunk`` numbered above ``after``, decoded; frames before a decode
    error are kept, and the error returned beside them."""
    started = time.perf_counter()
    frames: list[FrameInput] = []
    error = None
    try:
        for frame in decode_chunk(chunk):
            if frame.frame_no <= after:
                continue
            offset_s = (frame.frame_no - chunk.first_frame_no) / chunk.fps
            frames.append(
                FrameInput(
                    frame.image,
                    chunk.stream_id,
                    frame.frame_no,
                    chunk.captured_at + offset_s,
                    chunk.job_id,
                    frame.total_frames,
                )
            )
    except ChunkDecodeError as exc:
        error = exc
    return DecodedChunk(frames, error, time.perf_counter() - started)


class ChunksAhead:
    """Chunks decoded on ``pool`` while the models thread tracks the chunk before.

    A chunk decodes on one thread; the models thread would otherwise decode each chunk
    before its first batch, leaving the other core to wait. :meth:`take` hands over chunk
    ``i`` once decoded and starts decoding chunk ``i + 1``, so at most two chunks' frames
    are held decoded at once, whatever the chunk length and frame size.
    """

    def __init__(self, pool: Executor, chunks: Sequence[tuple[VideoChunk, int]]) -> None:
        self._pool = pool
        self._chunks = chunks
        self._decoding: dict[int, Future[DecodedChunk]] = {}
        self._start(0)

    def _start(self, index: int) -> None:
        if index < len(self._chunks) and index not in self._decoding:
            self._decoding[index] = self._pool.submit(decode_chunk_frames, *self._chunks[index])

    def take(self, index: int) -> DecodedChunk:
        """Chunk ``index`` decoded (take each once, in order)."""
        self._start(index)
        self._start(index + 1)
        return self._decoding.pop(index).result()

    def cancel(self) -> None:
        """Drop the decoding not yet started (after a failure)."""
        for pending in self._decoding.values():
            pending.cancel()
