"""DeepSORT's appearance metric, with every gallery compared in one matrix product.

deep-sort-realtime's ``NearestNeighborDistanceMetric`` (cosine) compares the detections of a
frame with each track's gallery of embeddings in a loop over tracks: per track a Python call
that normalizes the gallery and the detections again. :class:`StackedCosineMetric` gives
the same cost matrix (each track's smallest cosine distance to each detection) from one
product of all the galleries, stacked, with the detections; galleries, budget and snapshots
are the parent's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric

__all__ = ["StackedCosineMetric", "nearest_cosine_distances"]


def nearest_cosine_distances(
    galleries: Sequence[Sequence[npt.NDArray[np.floating[Any]]]],
    features: npt.NDArray[np.floating[Any]],
) -> npt.NDArray[np.float64]:
    """(len(galleries), N): row i holds, for each of ``features`` (N, M), the smallest
    cosine distance to a vector of ``galleries[i]`` (each non-empty)."""
    sizes = [len(g) for g in galleries]
    if not sizes or not len(features):
        return np.zeros((len(sizes), len(features)))
    if min(sizes) == 0:
        raise ValueError("a track has no embeddings to compare with")
    stacked = np.concatenate([np.asarray(g) for g in galleries])
    stacked = stacked / np.linalg.norm(stacked, axis=1, keepdims=True)
    queries = np.asarray(features)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    distances = 1.0 - stacked @ queries.T
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.asarray(np.minimum.reduceat(distances, starts, axis=0), np.float64)


class StackedCosineMetric(NearestNeighborDistanceMetric):  # type: ignore[misc]
    """``NearestNeighborDistanceMetric("cosine", ...)`` with the galleries compared at once."""

    def __init__(self, matching_threshold: float, budget: int | None = None) -> None:
        super().__init__("cosine", matching_threshold, budget)

    def distance(
        self, features: npt.NDArray[np.floating[Any]], targets: Sequence[int]
    ) -> npt.NDArray[np.float64]:
        return nearest_cosine_distances([self.samples[t] for t in targets], features)
