"""Matching from one gated cost matrix a frame gives deep-sort-realtime's own tracks."""

from __future__ import annotations

import numpy as np
import pytest
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter
from deep_sort_realtime.deep_sort.tracker import Tracker

from processors.tracking.kalman import LeanKalmanFilter
from processors.tracking.matching import CostOnceTracker, shipped_matching, squared_mahalanobis
from processors.tracking.tracker import StreamTracker

Frame = list[tuple[int, tuple[float, float, float, float]]]


def _states(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Track states as DeepSORT holds them after a few predictions and updates."""
    kf = KalmanFilter()
    means, covariances = [], []
    for _ in range(count):
        measured = rng.uniform([0, 0, 0.2, 8], [1280, 720, 3.0, 400])
        mean, covariance = kf.initiate(measured)
        for _ in range(int(rng.integers(1, 6))):
            mean, covariance = kf.predict(mean, covariance)
            if rng.random() < 0.6:
                near = measured + rng.normal(0, 4, 4) * [1, 1, 0.01, 1]
                mean, covariance = kf.update(mean, covariance, near)
        means.append(mean)
        covariances.append(covariance)
    return np.array(means, np.float64), np.array(covariances, np.float64)


@pytest.mark.parametrize("only_position", [False, True])
def test_gating_all_tracks_at_once_is_each_tracks_gating(only_position: bool) -> None:
    rng = np.random.default_rng(3)
    means, covariances = _states(rng, 12)
    measurements = np.vstack(
        [means[:6, :4] + rng.normal(0, 8, (6, 4)) * [1, 1, 0.02, 1], rng.uniform(0, 700, (4, 4))]
    )
    kf = LeanKalmanFilter()
    together = squared_mahalanobis(kf, means, covariances, measurements, only_position)
    each = np.array(
        [
            kf.gating_distance(mean, covariance, measurements, only_position)
            for mean, covariance in zip(means, covariances, strict=True)
        ]
    )
    assert together.shape == (12, 10)
    np.testing.assert_allclose(together, each, rtol=1e-12)
    # Both sides of DeepSORT's gate are there, so the comparison decides something.
    threshold = 5.9915 if only_position else 9.4877
    assert (each < threshold).any() and (each > threshold).any()


def test_gating_without_tracks_or_measurements_is_empty() -> None:
    kf = LeanKalmanFilter()
    means, covariances = _states(np.random.default_rng(0), 2)
    assert squared_mahalanobis(kf, means, covariances, np.zeros((0, 4))).shape == (2, 0)
    none = np.zeros((0, 8)), np.zeros((0, 8, 8))
    assert squared_mahalanobis(kf, *none, np.ones((3, 4))).shape == (0, 3)


def _scene(tracker: StreamTracker, seed: int) -> tuple[list[Frame], int]:
    """Ten objects crossing a 1280x720 frame, each now and then missed for 1-6 frames (so
    the cascade matches at several levels), two passing each other and four looking alike
    in pairs (so only the Kalman gate tells them apart); the confirmed tracks of each
    frame, and how many times a track came back after two or more missed frames."""
    rng = np.random.default_rng(seed)
    starts = rng.uniform([100, 100], [1000, 500], size=(10, 2))
    speeds = rng.uniform(-5, 5, size=(10, 2))
    starts[1], speeds[1] = starts[0] + [300, 0], [-speeds[0][0] - 4, speeds[0][1]]
    looks = rng.normal(size=(10, 32)).astype(np.float32)
    looks[3], looks[5] = looks[2], looks[4]
    hidden_until = np.zeros(10, int)
    frames: list[Frame] = []
    last_seen: dict[int, int] = {}
    comebacks = 0
    for t in range(150):
        gaps = (rng.random(10) < 0.04) & (hidden_until <= t)
        hidden_until[gaps] = t + rng.integers(1, 7, size=int(gaps.sum()))
        seen = [i for i in range(10) if hidden_until[i] <= t]
        corners = starts[seen] + speeds[seen] * t + rng.normal(0, 1.5, size=(len(seen), 2))
        xyxy = np.hstack([corners, corners + np.array([50.0, 110.0])]).astype(np.float32)
        features = [looks[i] + rng.normal(0, 0.08, 32).astype(np.float32) for i in seen]
        out = tracker.update(
            xyxy,
            np.full(len(seen), 0.9, np.float32),
            np.zeros(len(seen), np.int64),
            features if tracker.appearance else [],
        )
        frames.append([(box.track_id, box.xyxy) for box in out])
        for box in out:
            comebacks += t - last_seen.get(box.track_id, t - 1) > 2
            last_seen[box.track_id] = t
    return frames, comebacks


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("appearance", [True, False])
def test_tracks_are_deep_sort_realtimes_own(appearance: bool, seed: int) -> None:
    """Same confirmed tracks every frame and the same state at the end (snapshot bytes)."""
    ours = StreamTracker(appearance=appearance)
    assert isinstance(ours._deepsort.tracker, CostOnceTracker)
    theirs = StreamTracker(appearance=appearance)
    theirs._deepsort.tracker = shipped_matching(theirs._deepsort.tracker)
    assert type(theirs._deepsort.tracker) is Tracker
    frames, comebacks = _scene(ours, seed)
    assert (frames, comebacks) == _scene(theirs, seed)
    assert ours.snapshot() == theirs.snapshot()
    assert comebacks >= 3  # tracks matched after missed frames: deeper cascade levels
    assert len({track_id for frame in frames for track_id, _ in frame}) >= 10


def test_a_restored_tracker_matches_from_one_matrix_too() -> None:
    tracker = StreamTracker()
    _scene(tracker, seed=5)
    restored = StreamTracker()
    restored.restore(tracker.snapshot())
    assert isinstance(restored._deepsort.tracker, CostOnceTracker)
