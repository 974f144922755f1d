"""decode → detect → embed → track for frames and video chunks of many streams, one tracker
per stream."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from processors.detection.detector import Detections, YoloDetector
from processors.pipeline.chunk_decoder import ChunkDecodeError, decode_chunk
from processors.tracking.embedder import Embedder, crop_boxes
from processors.tracking.tracker import StreamTracker
from schemas.frames import FrameMessage
from schemas.tracks import DetectedObject, FrameTracks, TrackedObject
from schemas.video_chunks import VideoChunk

__all__ = ["ChunkTracks", "FrameDecodeError", "FrameProcessor", "decode_jpeg"]


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


class FrameProcessor:
    """Turns a :class:`FrameMessage` into :class:`FrameTracks`.

    Trackers live in a dict keyed by stream id; all per-stream state is in its tracker.
    Not thread-safe: call from one thread (the worker runs it in a single-thread executor).
    """

    def __init__(
        self,
        detector: YoloDetector,
        embedder: Embedder,
        tracker_factory: Callable[[], StreamTracker],
        *,
        track_confidence: float = 0.0,
    ) -> None:
        self._detector = detector
        self._track_confidence = track_confidence
        self._embedder = embedder
        self._tracker_factory = tracker_factory
        self._trackers: dict[str, StreamTracker] = {}

    def tracker(self, stream_id: str) -> StreamTracker:
        tracker = self._trackers.get(stream_id)
        if tracker is None:
            tracker = self._trackers[stream_id] = self._tracker_factory()
        return tracker

    def process(self, frame: FrameMessage) -> FrameTracks:
        """Track a ``frames`` message; :class:`FrameDecodeError` if its JPEG is bad."""
        return self.process_image(
            decode_jpeg(frame.jpeg),
            stream_id=frame.stream_id,
            frame_no=frame.frame_no,
            captured_at=frame.captured_at,
            job_id=frame.job_id,
            total_frames=frame.total_frames,
        )

    def process_chunk(self, chunk: VideoChunk, after: int) -> ChunkTracks:
        """Track the frames of a ``video-chunks`` message numbered above ``after`` (the last
        frame already applied for the stream). A chunk that fails to decode part-way keeps
        the tracks of the frames before the damage and reports the error beside them."""
        tracks: list[FrameTracks] = []
        try:
            for frame in decode_chunk(chunk):
                if frame.frame_no <= after:
                    continue
                tracks.append(
                    self.process_image(
                        frame.image,
                        stream_id=chunk.stream_id,
                        frame_no=frame.frame_no,
                        captured_at=chunk.captured_at
                        + (frame.frame_no - chunk.first_frame_no) / chunk.fps,
                        job_id=chunk.job_id,
                        total_frames=frame.total_frames,
                    )
                )
        except ChunkDecodeError as exc:
            return ChunkTracks(tracks, exc)
        return ChunkTracks(tracks, None)

    def process_image(
        self,
        image: npt.NDArray[np.uint8],
        *,
        stream_id: str,
        frame_no: int,
        captured_at: float,
        job_id: str | None,
        total_frames: int | None,
    ) -> FrameTracks:
        """Track one decoded (H, W, 3) BGR frame of ``stream_id``."""
        t0 = time.perf_counter()
        detections = self._detector.detect([image])[0]
        t1 = time.perf_counter()
        tracks = self._track(stream_id, image, detections)
        t2 = time.perf_counter()
        return FrameTracks(
            stream_id=stream_id,
            frame_no=frame_no,
            captured_at=captured_at,
            processed_at=time.time(),
            width=image.shape[1],
            height=image.shape[0],
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
            tracks=tuple(tracks),
            job_id=job_id,
            total_frames=total_frames,
            detect_ms=(t1 - t0) * 1000.0,
            track_ms=(t2 - t1) * 1000.0,
        )

    def _track(
        self, stream_id: str, image: npt.NDArray[np.uint8], dets: Detections
    ) -> list[TrackedObject]:
        keep = dets.scores >= self._track_confidence
        xyxy, scores, class_ids = dets.xyxy[keep], dets.scores[keep], dets.class_ids[keep]
        embeddings = self._embedder.embed(crop_boxes(image, xyxy))
        boxes = self.tracker(stream_id).update(xyxy, scores, class_ids, embeddings)
        return [
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
        ]
