"""Motion-only association for DeepSORT: overlap with the Kalman prediction, no appearance.

DeepSORT matches confirmed tracks to detections with an appearance metric (cosine distance
to a gallery of embeddings), gated by the Kalman filter. For streams where embedding every
box costs more than it is worth, :class:`PredictedOverlapMetric` stands in for that metric:
a detection's "feature" is its own box, and its distance to a track is one minus the IoU
of the box with the track's Kalman-predicted box. The matching cascade, the Mahalanobis gate
and the IoU stage for new tracks are DeepSORT's own. The metric keeps no gallery, so a
motion-only tracker's snapshot holds Kalman state and counters only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.tracker import Tracker

__all__ = ["PredictedOverlapMetric", "overlap_distance"]


def overlap_distance(
    boxes: npt.NDArray[np.floating[Any]], candidates: npt.NDArray[np.floating[Any]]
) -> npt.NDArray[np.float64]:
    """``1 - IoU`` of each of ``boxes`` (M, 4) with each of ``candidates`` (N, 4), xyxy."""
    a = np.asarray(boxes, np.float64)[:, None, :]
    b = np.asarray(candidates, np.float64)[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return np.asarray(1.0 - iou, np.float64)


class PredictedOverlapMetric:
    """DeepSORT's ``NearestNeighborDistanceMetric`` interface, by box overlap.

    ``features`` handed to :meth:`distance` are detection boxes (xyxy); ``targets`` are
    track ids, looked up in ``tracker`` for their predicted boxes.
    """

    def __init__(self, tracker: Tracker, max_distance: float) -> None:
        self._tracker = tracker
        self.matching_threshold = max_distance
        self.budget = 0
        self.samples: dict[str, list[npt.NDArray[np.float32]]] = {}  # no gallery

    def partial_fit(self, features: Any, targets: Any, active_targets: Any) -> None:
        """Nothing to learn: association looks at the prediction only."""

    def distance(
        self, features: npt.NDArray[np.floating[Any]], targets: npt.NDArray[Any]
    ) -> npt.NDArray[np.float64]:
        by_id = {track.track_id: track for track in self._tracker.tracks}
        predicted = np.array([by_id[t].to_ltrb() for t in targets], np.float64).reshape(-1, 4)
        return overlap_distance(predicted, np.asarray(features).reshape(-1, 4))
