"""DeepSORT's appearance metric, with every gallery compared in one matrix product.

deep-sort-realtime's ``NearestNeighborDistanceMetric`` (cosine) compares the detections of a
frame with each track's gallery of embeddings in a loop over tracks: per track a Python call
that stacks the gallery's vectors and normalizes them again. :class:`StackedCosineMetric`
gives the same cost matrix (each track's smallest cosine distance to each detection) from
one product of all the galleries with the detections, or (:meth:`~StackedCosineMetric.
distance_where`, as the worker's matching asks) of each gallery with the detections its
track's Kalman gate lets through. It keeps the galleries normalized between frames
(:class:`UnitGalleries`), each in an array where a new embedding is written in place: a
gallery of 300 is not copied to grow by one. ``samples`` (the galleries as the parent keeps
them, which snapshots save and restore) stays the source of truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric

__all__ = ["StackedCosineMetric", "UnitGalleries", "nearest_cosine_distances"]

Vectors = npt.NDArray[np.floating[Any]]
Array = npt.NDArray[np.float64]


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


class _Gallery:
    """One target's unit rows, appended in place: room doubles up to ``budget`` rows, then
    each new row overwrites the oldest."""

    __slots__ = ("_budget", "_oldest", "_rows", "size")

    def __init__(self, units: Vectors, budget: int | None) -> None:
        self._budget = budget
        self._rows = units.copy()
        self.size = len(units)
        self._oldest = 0  # where a full gallery writes its next row

    @property
    def rows(self) -> Vectors:
        """The gallery's rows (in no particular order once it is full)."""
        return self._rows[: self.size]

    def extend(self, units: Vectors) -> None:
        for unit in units:
            if self.size == self._budget:
                self._rows[self._oldest] = unit
                self._oldest = (self._oldest + 1) % self.size
                continue
            if self.size == len(self._rows):
                room = 2 * self.size if self._budget is None else min(2 * self.size, self._budget)
                grown = np.empty((room, self._rows.shape[1]), np.result_type(self._rows, unit))
                grown[: self.size] = self._rows
                self._rows = grown
            self._rows[self.size] = unit
            self.size += 1


class UnitGalleries:
    """Each target's gallery of unit rows, the last ``budget`` of them, kept in an array of
    its own and written in place: a gallery of 300 is not copied to grow by one.

    Distances compare each target's rows with the features: all targets with all features
    in one product, or only the pairs a frame's Kalman gate allows.
    """

    def __init__(self, budget: int | None) -> None:
        self._budget = budget
        self._galleries: dict[int, _Gallery] = {}

    def __len__(self) -> int:
        return len(self._galleries)

    def __contains__(self, target: int) -> bool:
        return target in self._galleries

    def add(self, target: int, units: Vectors) -> None:
        """A new target's gallery (non-empty unit rows, oldest first)."""
        if target in self._galleries:
            raise ValueError(f"target {target} already has a gallery")
        if len(units) == 0:
            raise ValueError("a track has no embeddings to compare with")
        kept = units if self._budget is None else units[-self._budget :]
        self._galleries[target] = _Gallery(kept, self._budget)

    def extend(self, target: int, units: Vectors) -> None:
        """Append rows to ``target``'s gallery, the oldest overwritten past the budget."""
        self._galleries[target].extend(units)

    def keep(self, targets: Iterable[int]) -> None:
        """Forget every gallery but those of ``targets``."""
        self._galleries = {t: self._galleries[t] for t in targets if t in self._galleries}

    def nearest_distances(self, features: Vectors, targets: Sequence[int]) -> Array:
        """(len(targets), N): each target's smallest cosine distance to each of
        ``features`` (N, dim)."""
        return _nearest_unit_distances([self._galleries[t].rows for t in targets], features)

    def nearest_distances_where(
        self, features: Vectors, targets: Sequence[int], allowed: npt.NDArray[np.bool_], fill: float
    ) -> Array:
        """:meth:`nearest_distances` of the pairs ``allowed`` (len(targets), N), ``fill``
        elsewhere: each target's gallery is compared with the features it may match only."""
        distances = np.full(allowed.shape, fill)
        if not allowed.any():
            return distances
        queries = _unit_rows(np.asarray(features))
        for row, target in enumerate(targets):
            (columns,) = np.nonzero(allowed[row])
            if len(columns):
                rows = self._galleries[target].rows
                distances[row, columns] = 1.0 - (rows @ queries[columns].T).max(axis=0)
        return distances


class StackedCosineMetric(NearestNeighborDistanceMetric):  # type: ignore[misc]
    """``NearestNeighborDistanceMetric("cosine", ...)`` with the galleries compared at once,
    kept normalized between frames in :class:`UnitGalleries`."""

    def __init__(self, matching_threshold: float, budget: int | None = None) -> None:
        self._unit = UnitGalleries(budget)
        super().__init__("cosine", matching_threshold, budget)

    @property
    def samples(self) -> dict[int, list[Vectors]]:
        return self._samples

    @samples.setter
    def samples(self, samples: dict[int, list[Vectors]]) -> None:
        """Galleries set as a whole (a restored snapshot): normalized again when next used."""
        self._samples = samples
        self._unit = UnitGalleries(self.budget)

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
            if target in self._unit:
                self._unit.extend(target, units[rows])
        active = list(active_targets)
        self._samples = {k: self._samples[k] for k in active}
        self._unit.keep(active)

    def distance(self, features: Vectors, targets: Sequence[int]) -> Array:
        self._normalize(targets)
        return self._unit.nearest_distances(features, targets)

    def distance_where(
        self, features: Vectors, targets: Sequence[int], allowed: npt.NDArray[np.bool_], fill: float
    ) -> Array:
        """:meth:`distance` of the pairs ``allowed`` (len(targets), N), ``fill`` elsewhere:
        a frame's pairs that the Kalman gate rules out are not compared at all."""
        self._normalize(targets)
        return self._unit.nearest_distances_where(features, targets, allowed, fill)

    def _normalize(self, targets: Sequence[int]) -> None:
        for target in targets:
            if target not in self._unit:
                self._unit.add(target, _unit_gallery(self._samples[target]))
