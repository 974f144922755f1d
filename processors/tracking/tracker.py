"""DeepSORT tracking of one stream (deep-sort-realtime), with embeddings supplied.

Each stream owns one :class:`StreamTracker`, its track-id counter included, so streams
never share ids or state. A tracker built with ``appearance=False`` is motion-only: it takes
no embeddings and associates by overlap with the Kalman prediction
(:mod:`~processors.tracking.motion`). Its parts compute what deep-sort-realtime's do, with
less overhead: the Kalman filter (:mod:`~processors.tracking.kalman`), the appearance
galleries (:mod:`~processors.tracking.appearance`) and the matching, from one gated cost
matrix a frame (:mod:`~processors.tracking.matching`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deepsort_tracker import DeepSort

from processors.tracking.appearance import StackedCosineMetric
from processors.tracking.kalman import LeanKalmanFilter
from processors.tracking.matching import CostOnceTracker, tracker_like
from processors.tracking.motion import PredictedOverlapMetric
from processors.tracking.tracker_state import dump_tracker, load_tracker

__all__ = ["StreamTracker", "TrackBox"]


@dataclass(frozen=True, slots=True)
class TrackBox:
    """A confirmed track seen in the current frame; box is xyxy pixels."""

    track_id: int
    class_id: int
    confidence: float
    xyxy: tuple[float, float, float, float]


class StreamTracker:
    """``update(detections, embeddings) -> tracks`` for one stream, and ``reset()``."""

    def __init__(
        self,
        *,
        max_age: int = 30,
        n_init: int = 3,
        max_cosine_distance: float = 0.2,
        gating_only_position: bool = False,
        gallery_budget: int | None = None,
        appearance: bool = True,
        max_overlap_distance: float = 0.7,
    ) -> None:
        self._max_age = max_age
        self._n_init = n_init
        self._max_cosine_distance = max_cosine_distance
        self._gating_only_position = gating_only_position
        self._gallery_budget = gallery_budget
        self.appearance = appearance
        self._max_overlap_distance = max_overlap_distance  # motion-only: 1 - IoU allowed
        self._deepsort = self._new()

    def _new(self) -> DeepSort:
        deepsort = DeepSort(
            max_age=self._max_age,
            n_init=self._n_init,
            max_cosine_distance=self._max_cosine_distance,
            gating_only_position=self._gating_only_position,
            nn_budget=self._gallery_budget,
            embedder=None,
        )
        tracker = deepsort.tracker = tracker_like(CostOnceTracker, deepsort.tracker)
        tracker.kf = LeanKalmanFilter()
        if self.appearance:
            tracker.metric = StackedCosineMetric(self._max_cosine_distance, self._gallery_budget)
        else:
            tracker.metric = PredictedOverlapMetric(tracker, self._max_overlap_distance)
        return deepsort

    def reset(self) -> None:
        self._deepsort = self._new()

    def snapshot(self) -> bytes:
        """The tracker's exact state (:func:`~processors.tracking.tracker_state.dump_tracker`)."""
        return dump_tracker(self._deepsort.tracker)

    def restore(self, snapshot: bytes) -> None:
        """Continue from ``snapshot`` of a tracker built with the same settings; raises
        :class:`~processors.tracking.tracker_state.TrackerStateError` if it is unreadable."""
        fresh = self._new()
        load_tracker(fresh.tracker, snapshot)
        self._deepsort = fresh

    def update(
        self,
        xyxy: npt.NDArray[np.float32],
        scores: npt.NDArray[np.float32],
        class_ids: npt.NDArray[np.int64],
        embeddings: Sequence[npt.NDArray[np.float32]],
    ) -> list[TrackBox]:
        """Advance one frame.

        ``xyxy`` (N, 4) pixels, ``scores`` (N,), ``class_ids`` (N,), one embedding per box
        (motion-only trackers ignore ``embeddings``: pass none). Returns confirmed tracks
        that were matched to a detection in this frame.
        """
        if not len(xyxy) == len(scores) == len(class_ids):
            raise ValueError("boxes, scores and classes differ in length")
        if self.appearance and len(embeddings) != len(xyxy):
            raise ValueError("detections and embeddings differ in length")
        widths, heights = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
        keep = [int(i) for i in np.flatnonzero((widths > 0) & (heights > 0))]
        raw = [
            (
                [float(xyxy[i, 0]), float(xyxy[i, 1]), float(widths[i]), float(heights[i])],
                float(scores[i]),
                int(class_ids[i]),
            )
            for i in keep
        ]
        features = [embeddings[i] if self.appearance else xyxy[i] for i in keep]
        tracks = self._deepsort.update_tracks(raw, embeds=features)
        out = []
        for track in tracks:
            if not track.is_confirmed() or track.time_since_update > 0:
                continue
            box = track.to_ltrb(orig=True)
            if box is None:
                continue
            out.append(
                TrackBox(
                    track_id=int(track.track_id),
                    class_id=int(track.det_class),
                    confidence=float(track.det_conf or 0.0),
                    xyxy=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                )
            )
        return out
