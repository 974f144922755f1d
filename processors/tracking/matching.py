"""DeepSORT's association with the gated cost matrix computed once a frame.

deep-sort-realtime's :class:`~deep_sort_realtime.deep_sort.tracker.Tracker` matches confirmed
tracks to detections level by level (its matching cascade: tracks seen one frame ago first,
then two, …), and at every level builds the cost matrix of that level's tracks against the
detections left: one call of the appearance metric, then one Kalman gating call per track,
each projecting the track's state, factoring its covariance and solving against the
detections. A cost depends on its track and its detection only, so
:class:`CostOnceTracker` builds the whole matrix (every confirmed track against every
detection) once a frame, the gate for all tracks at once (:func:`squared_mahalanobis`), and
lets the cascade take each level's rows and columns from it. The gate comes first, so that
the appearance metric compares each track's gallery only with the detections it may match
(:meth:`~processors.tracking.appearance.StackedCosineMetric.distance_where`): the rest
would cost DeepSORT's infinite cost whatever their appearance. The cascade, its thresholds
and the IoU stage for new and just-lost tracks are the parent's; costs are the parent's up
to rounding in the last place (the triangular solve is written out instead of LAPACK's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort import iou_matching, linear_assignment
from deep_sort_realtime.deep_sort.detection import Detection
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter, chi2inv95
from deep_sort_realtime.deep_sort.track import Track
from deep_sort_realtime.deep_sort.tracker import Tracker

from processors.tracking.appearance import StackedCosineMetric
from processors.tracking.motion import PredictedOverlapMetric

__all__ = [
    "CostOnceTracker",
    "gated_costs",
    "shipped_matching",
    "squared_mahalanobis",
    "tracker_like",
]

Array = npt.NDArray[np.float64]
Match = tuple[int, int]


def squared_mahalanobis(
    kf: KalmanFilter,
    means: Array,
    covariances: Array,
    measurements: Array,
    only_position: bool = False,
) -> Array:
    """(T, N): ``kf.gating_distance`` of each of T track states (``means`` (T, 8),
    ``covariances`` (T, 8, 8)) to each of ``measurements`` (N, 4, xyah), for all at once.

    The projection onto measurement space is the filter's own (its measurement matrix
    selects the first four state entries, so the projected mean and covariance are those
    entries, exactly as the parent's products give them), plus the same innovation noise.
    """
    if not len(means) or not len(measurements):
        return np.zeros((len(means), len(measurements)))
    position = kf._std_weight_position * means[:, 3]
    noise = np.square(np.stack([position, position, np.full_like(position, 1e-1), position], 1))
    dims = 2 if only_position else 4
    diagonal = np.arange(dims)
    projected = covariances[:, :dims, :dims].copy()
    projected[:, diagonal, diagonal] += noise[:, :dims]
    lower = np.linalg.cholesky(projected)  # (T, dims, dims)
    d = measurements[None, :, :dims] - means[:, None, :dims]  # (T, N, dims)
    # Forward substitution, lower @ z = d, for every track and measurement at once.
    z = np.empty_like(d)
    for i in range(dims):
        row = d[:, :, i].copy()
        for j in range(i):
            row -= lower[:, i, j, None] * z[:, :, j]
        z[:, :, i] = row / lower[:, i, i, None]
    squared: Array = np.sum(z * z, axis=2)
    return squared


def gated_costs(
    tracker: Tracker, track_indices: Sequence[int], detections: Sequence[Detection]
) -> Array:
    """(len(track_indices), len(detections)): the tracker's appearance (or motion) metric
    of each track against each detection, set to DeepSORT's infinite cost where the Kalman
    gate rules the pair out, as the parent's gated metric computes it level by level."""
    tracks = [tracker.tracks[i] for i in track_indices]
    maha = squared_mahalanobis(
        tracker.kf,
        np.array([t.mean for t in tracks], np.float64).reshape(-1, 8),
        np.array([t.covariance for t in tracks], np.float64).reshape(-1, 8, 8),
        np.array([d.to_xyah() for d in detections], np.float64).reshape(-1, 4),
        tracker.gating_only_position,
    )
    allowed = ~(maha > chi2inv95[2 if tracker.gating_only_position else 4])  # as the parent
    features = np.array([d.feature for d in detections])
    targets = [t.track_id for t in tracks]
    if isinstance(tracker.metric, StackedCosineMetric):  # compares the allowed pairs only
        gated: Array = tracker.metric.distance_where(
            features, targets, allowed, linear_assignment.INFTY_COST
        )
        return gated
    costs: Array = tracker.metric.distance(features, np.array(targets))
    costs[~allowed] = linear_assignment.INFTY_COST
    return costs


class CostOnceTracker(Tracker):  # type: ignore[misc]
    """deep-sort-realtime's tracker, matching from one gated cost matrix a frame."""

    def _match(self, detections: list[Detection]) -> tuple[list[Match], list[int], list[int]]:
        tracks: list[Track] = self.tracks
        confirmed = [i for i, t in enumerate(tracks) if t.is_confirmed()]
        unconfirmed = [i for i, t in enumerate(tracks) if not t.is_confirmed()]

        # Confirmed tracks by appearance (or motion), gated, in the parent's cascade.
        costs = gated_costs(self, confirmed, detections) if confirmed and detections else None
        row_of = {track: row for row, track in enumerate(confirmed)}

        def from_costs(
            _tracks: Any, _dets: Any, track_indices: Sequence[int], det_indices: Sequence[int]
        ) -> Array:
            assert costs is not None  # the cascade asks only when both are there
            rows = [row_of[i] for i in track_indices]
            return costs[np.ix_(rows, list(det_indices))]

        matches_a, unmatched_tracks_a, unmatched_detections = linear_assignment.matching_cascade(
            from_costs, self.metric.matching_threshold, self.max_age, tracks, detections, confirmed
        )

        # The rest, with the unconfirmed tracks, by overlap: as the parent does.
        iou_candidates = unconfirmed + [
            k for k in unmatched_tracks_a if tracks[k].time_since_update == 1
        ]
        unmatched_tracks_a = [k for k in unmatched_tracks_a if tracks[k].time_since_update != 1]
        matches_b, unmatched_tracks_b, unmatched_detections = linear_assignment.min_cost_matching(
            iou_matching.iou_cost,
            self.max_iou_distance,
            tracks,
            detections,
            iou_candidates,
            unmatched_detections,
        )
        matches = matches_a + matches_b
        unmatched_tracks = list(set(unmatched_tracks_a + unmatched_tracks_b))
        return matches, unmatched_tracks, unmatched_detections


def tracker_like(kind: type[Tracker], tracker: Tracker) -> Tracker:
    """A tracker of class ``kind`` with ``tracker``'s settings, metric and Kalman filter,
    and no tracks yet."""
    made = kind(
        tracker.metric,
        max_iou_distance=tracker.max_iou_distance,
        max_age=tracker.max_age,
        n_init=tracker.n_init,
        gating_only_position=tracker.gating_only_position,
    )
    made.kf = tracker.kf
    return made


def shipped_matching(tracker: Tracker) -> Tracker:
    """deep-sort-realtime's own tracker, matching level by level as shipped, with
    ``tracker``'s settings, metric and Kalman filter and no tracks yet: for comparisons."""
    shipped = tracker_like(Tracker, tracker)
    if isinstance(shipped.metric, PredictedOverlapMetric):
        shipped.metric = PredictedOverlapMetric(shipped, shipped.metric.matching_threshold)
    return shipped
