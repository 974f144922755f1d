"""DeepSORT's appearance metric, with every gallery compared in one matrix product.

deep-sort-realtime's ``NearestNeighborDistanceMetric`` (cosine) compares the detections of a
frame with each track's gallery of embeddings in a loop over tracks: per track a Python call
that stacks the gallery's vectors and normalizes them again. :class:`StackedCosineMetric`
gives the same cost matrix (each track's smallest cosine distance to each detection) from
one product of all the galleries with the detections, and keeps each gallery as an array of
unit rows, extended as embeddings come: a gallery of 300 is not re-stacked and normalized at
every level of DeepSORT's matching cascade of every frame. ``samples`` (the galleries as the
parent keeps them, which snapshots save and restore) stays the source of truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric

__all__ = ["StackedCosineMetric", "nearest_cosine_distances"]

Vectors = npt.NDArray[np.floating[Any]]


def _unit_rows(vectors: Vectors) -> Vectors:
    rows: Vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return rows


def _unit_gallery(gallery: Sequence[Vectors]) -> Vectors:
    """A track's gallery as one array of unit rows."""
    if len(gallery) == 0:
        raise ValueError("a track has no embeddings to compare with")
    return _unit_rows(np.asarray(gallery))


def nearest_cosine_distances(
    galleries: Sequence[Sequence[Vectors]], features: Vectors
) -> npt.NDArray[np.float64]:
    """(len(galleries), N): row i holds, for each of ``features`` (N, M), the smallest
    cosine distance to a vector of ``galleries[i]`` (each non-empty)."""
    return _nearest_unit_distances([_unit_gallery(g) for g in galleries], features)


def _nearest_unit_distances(
    galleries: Sequence[Vectors], features: Vectors
) -> npt.NDArray[np.float64]:
    """:func:`nearest_cosine_distances` of galleries already made of unit rows."""
    if not galleries or not len(features):
        return np.zeros((len(galleries), len(features)))
    queries = _unit_rows(np.asarray(features))
    distances = 1.0 - np.concatenate(galleries) @ queries.T
    starts = np.cumsum([0] + [len(g) for g in galleries[:-1]])
    return np.asarray(np.minimum.reduceat(distances, starts, axis=0), np.float64)


class StackedCosineMetric(NearestNeighborDistanceMetric):  # type: ignore[misc]
    """``NearestNeighborDistanceMetric("cosine", ...)`` with the galleries compared at once,
    each kept normalized between frames."""

    def __init__(self, matching_threshold: float, budget: int | None = None) -> None:
        self._unit: dict[int, Vectors] = {}
        super().__init__("cosine", matching_threshold, budget)

    @property
    def samples(self) -> dict[int, list[Vectors]]:
        return self._samples

    @samples.setter
    def samples(self, samples: dict[int, list[Vectors]]) -> None:
        """Galleries set as a whole (a restored snapshot): normalized again when next used."""
        self._samples = samples
        self._unit = {}

    def partial_fit(
        self, features: Vectors, targets: npt.NDArray[np.int_], active_targets: Iterable[int]
    ) -> None:
        """The parent's update (append each target's new features, keep the last ``budget``,
        forget inactive targets), applied to the normalized galleries as well."""
        new: dict[int, list[int]] = {}
        for row, target in enumerate(targets.tolist()):
            new.setdefault(target, []).append(row)
        units = _unit_rows(features) if len(features) else features
        kept = slice(None if self.budget is None else -self.budget, None)
        for target, rows in new.items():
            grown = self._samples.get(target, []) + [features[r] for r in rows]
            self._samples[target] = grown[kept]
            if (unit := self._unit.get(target)) is not None:
                self._unit[target] = np.concatenate((unit, units[rows]))[kept]
        active = list(active_targets)
        self._samples = {k: self._samples[k] for k in active}
        self._unit = {k: self._unit[k] for k in active if k in self._unit}

    def distance(self, features: Vectors, targets: Sequence[int]) -> npt.NDArray[np.float64]:
        return _nearest_unit_distances([self._unit_of(t) for t in targets], features)

    def _unit_of(self, target: int) -> Vectors:
        if (unit := self._unit.get(target)) is None:
            unit = self._unit[target] = _unit_gallery(self._samples[target])
        return unit
