"""The stacked appearance metric gives deep-sort-realtime's cost matrix, in one product."""

from __future__ import annotations

import numpy as np
import pytest
from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric

from processors.tracking.appearance import StackedCosineMetric, nearest_cosine_distances
from processors.tracking.tracker import StreamTracker


def _fitted(metric: NearestNeighborDistanceMetric, seed: int) -> NearestNeighborDistanceMetric:
    rng = np.random.default_rng(seed)
    for frame in range(6):  # six frames of embeddings of tracks 1-5, later ones missing some
        targets = [t for t in range(1, 6) if frame == 0 or rng.random() < 0.7]
        features = rng.normal(size=(len(targets), 16)).astype(np.float32)
        metric.partial_fit(features, np.asarray(targets), list(range(1, 6)))
    return metric


@pytest.mark.parametrize("budget", [None, 3])
def test_cost_matrix_is_deep_sort_realtimes(budget: int | None) -> None:
    original = _fitted(NearestNeighborDistanceMetric("cosine", 0.3, budget), seed=4)
    stacked = _fitted(StackedCosineMetric(0.3, budget), seed=4)
    features = np.random.default_rng(5).normal(size=(7, 16)).astype(np.float32)
    targets = [5, 2, 3, 1]
    expected = original.distance(features, targets)
    np.testing.assert_allclose(stacked.distance(features, targets), expected, atol=1e-6)


def test_each_row_is_the_nearest_of_its_own_gallery() -> None:
    e1, e2 = np.eye(2, dtype=np.float32)
    galleries = [[e1], [e2, -e1]]
    queries = np.array([e1, -e1, e2 * 3.0])
    np.testing.assert_allclose(
        nearest_cosine_distances(galleries, queries),
        [[0.0, 2.0, 1.0], [1.0, 0.0, 0.0]],
        atol=1e-6,
    )


def test_no_tracks_or_no_detections_give_an_empty_matrix() -> None:
    assert nearest_cosine_distances([], np.ones((3, 4))).shape == (0, 3)
    assert nearest_cosine_distances([[np.ones(4)]], np.ones((0, 4))).shape == (1, 0)
    with pytest.raises(ValueError, match="no embeddings"):
        nearest_cosine_distances([[]], np.ones((1, 4)))


def test_trackers_with_appearance_use_it() -> None:
    assert isinstance(StreamTracker()._deepsort.tracker.metric, StackedCosineMetric)
    assert not isinstance(
        StreamTracker(appearance=False)._deepsort.tracker.metric, StackedCosineMetric
    )
