"""The lean Kalman filter computes bit for bit what deep-sort-realtime's computes."""

from __future__ import annotations

import numpy as np
import pytest
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter
from scipy.linalg import LinAlgError

from processors.tracking.kalman import LeanKalmanFilter
from processors.tracking.tracker import StreamTracker

Pair = tuple[np.ndarray, np.ndarray]
Box = tuple[float, float, float, float]


def _same(ours: tuple[np.ndarray, ...], theirs: tuple[np.ndarray, ...]) -> None:
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()  # every bit, signed zeros included


def _measurement(rng: np.random.Generator) -> np.ndarray:
    # As deep-sort-realtime's Detection.to_xyah gives it: float32 center, aspect, height.
    x, y, aspect, height = rng.uniform([0, 0, 0.2, 8], [1280, 720, 3.0, 400])
    return np.array([x, y, aspect, height], np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_every_step_of_a_track_is_the_parents(seed: int) -> None:
    """From a track's first (float32) state on, predictions, projections, gating distances
    (all four dimensions and position only) and updates are the parent's, bit for bit."""
    rng = np.random.default_rng(seed)
    parent, lean = KalmanFilter(), LeanKalmanFilter()
    for _ in range(40):  # tracks
        start = _measurement(rng)
        mean, covariance = parent.initiate(start)
        assert mean.dtype == np.float32  # the parent's first state: the float32 path too
        for _ in range(int(rng.integers(1, 8))):  # frames
            predicted: Pair = parent.predict(mean, covariance)
            _same(lean.predict(mean, covariance), predicted)
            mean, covariance = predicted
            _same(lean.project(mean, covariance), parent.project(mean, covariance))
            near = start + rng.normal(0, 6, size=(6, 4)).astype(np.float32)
            for only_position in (False, True):
                expected = parent.gating_distance(mean, covariance, near, only_position)
                _same((lean.gating_distance(mean, covariance, near, only_position),), (expected,))
            if rng.random() < 0.7:  # matched this frame
                updated: Pair = parent.update(mean, covariance, near[0])
                _same(lean.update(mean, covariance, near[0]), updated)
                mean, covariance = updated


def test_gating_against_no_measurements_is_the_parents() -> None:
    parent, lean = KalmanFilter(), LeanKalmanFilter()
    mean, covariance = parent.predict(*parent.initiate(np.array([50, 60, 0.5, 80], np.float32)))
    none = np.zeros((0, 4), np.float32)
    expected = parent.gating_distance(mean, covariance, none)
    assert expected.shape == (0,)
    _same((lean.gating_distance(mean, covariance, none),), (expected,))


def test_a_covariance_that_is_not_positive_definite_fails_as_in_the_parent() -> None:
    mean = np.array([50, 60, 0.5, 80, 0, 0, 0, 0], np.float64)
    broken = -np.eye(8)  # its projection is negative definite
    with pytest.raises(LinAlgError):
        KalmanFilter().update(mean, broken, mean[:4])
    with pytest.raises(LinAlgError, match="not positive definite"):
        LeanKalmanFilter().update(mean, broken, mean[:4])
    with pytest.raises(LinAlgError):
        LeanKalmanFilter().gating_distance(mean, broken, np.ones((2, 4)))


def _scene(tracker: StreamTracker, seed: int) -> list[list[tuple[int, Box]]]:
    """Eight objects crossing a 1280x720 frame with jitter and missed detections; the
    confirmed tracks of each frame."""
    rng = np.random.default_rng(seed)
    starts = rng.uniform([0, 0], [1000, 600], size=(8, 2))
    speeds = rng.uniform(-6, 6, size=(8, 2))
    looks = rng.normal(size=(8, 32)).astype(np.float32)
    frames = []
    for t in range(120):
        seen = [i for i in range(8) if rng.random() < 0.85 and not (40 <= t < 52 and i < 2)]
        corners = starts[seen] + speeds[seen] * t + rng.normal(0, 1.5, size=(len(seen), 2))
        xyxy = np.hstack([corners, corners + np.array([60.0, 120.0])]).astype(np.float32)
        feats = [looks[i] + rng.normal(0, 0.05, 32).astype(np.float32) for i in seen]
        out = tracker.update(
            xyxy, np.full(len(seen), 0.9, np.float32), np.zeros(len(seen), np.int64), feats
        )
        frames.append([(box.track_id, box.xyxy) for box in out])
    return frames


@pytest.mark.parametrize("appearance", [True, False])
def test_a_tracker_runs_exactly_as_with_the_parents_filter(appearance: bool) -> None:
    """Same tracks every frame and the same snapshot bytes at the end (every track's mean
    and covariance): a snapshot taken before the change restores into a tracker after it."""
    lean = StreamTracker(max_age=10, n_init=2, appearance=appearance)
    parent = StreamTracker(max_age=10, n_init=2, appearance=appearance)
    parent._deepsort.tracker.kf = KalmanFilter()
    assert isinstance(lean._deepsort.tracker.kf, LeanKalmanFilter)
    tracks = _scene(lean, seed=3)
    assert tracks == _scene(parent, seed=3)
    assert len({track_id for frame in tracks for track_id, _ in frame}) >= 8
    assert lean.snapshot() == parent.snapshot()
