"""DeepSORT's appearance metric, with every gallery compared in one matrix product.

deep-sort-realtime's ``NearestNeighborDistanceMetric`` (cosine) compares the detections of a
frame with each track's gallery of embeddings in a loop over tracks: per track a Python call
that stacks the gallery's vectors and normalizes them again. :class:`StackedCosineMetric`
gives the same cost matrix (each track's smallest cosine distance to each detection) from
one product of all the galleries with the detections. It keeps the galleries normalized in
one array (:class:`UnitGalleries`), a slot per track, where a new embedding is written in
place: a gallery of 300 is neither copied to grow by one nor stacked with the others again
at every frame. ``samples`` (the galleries as the parent keeps them, which snapshots save
and restore) stays the source of truth.
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


class UnitGalleries:
    """Galleries of unit rows in one ``(slots, depth, dim)`` array, a slot per target.

    A gallery's rows fill its slot from the front and the rows past them repeat its first,
    so the nearest row of a slot is the nearest of the gallery. Once a gallery holds
    ``budget`` rows, each new one overwrites its oldest. ``depth`` doubles as galleries grow
    (up to ``budget``), and a removed target's slot takes the last slot's rows, so the
    first ``len(self)`` slots are the galleries; slots are added by doubling and given
    back by halving when fewer than a quarter are used.
    """

    def __init__(self, budget: int | None) -> None:
        self._budget = budget
        self._rows: Vectors = np.empty((0, 1, 0), np.float32)
        self._slot_of: dict[int, int] = {}
        self._targets: list[int] = []
        self._sizes: list[int] = []
        self._oldest: list[int] = []  # where a full gallery writes its next row

    def __len__(self) -> int:
        return len(self._targets)

    def __contains__(self, target: int) -> bool:
        return target in self._slot_of

    @property
    def capacity(self) -> int:
        """Galleries there is room for before the array grows."""
        return len(self._rows)

    def add(self, target: int, units: Vectors) -> None:
        """A new target's gallery (non-empty unit rows, oldest first)."""
        if target in self._slot_of:
            raise ValueError(f"target {target} already has a gallery")
        if len(units) == 0:
            raise ValueError("a track has no embeddings to compare with")
        if self._budget is not None:
            units = units[-self._budget :]
        slot = len(self._targets)
        self._reserve(slot + 1, len(units), units)
        self._rows[slot, : len(units)] = units
        self._rows[slot, len(units) :] = units[0]
        self._slot_of[target] = slot
        self._targets.append(target)
        self._sizes.append(len(units))
        self._oldest.append(0)

    def extend(self, target: int, units: Vectors) -> None:
        """Append rows to ``target``'s gallery, the oldest overwritten past the budget."""
        slot = self._slot_of[target]
        for unit in units:
            size = self._sizes[slot]
            if size == self._budget:
                self._rows[slot, self._oldest[slot]] = unit
                self._oldest[slot] = (self._oldest[slot] + 1) % size
                continue
            self._reserve(len(self._targets), size + 1, units)
            self._rows[slot, size] = unit
            self._sizes[slot] = size + 1

    def keep(self, targets: Iterable[int]) -> None:
        """Forget every gallery but those of ``targets``."""
        kept = set(targets)
        for target in [t for t in self._targets if t not in kept]:
            slot, last = self._slot_of.pop(target), len(self._targets) - 1
            if slot != last:
                moved = self._targets[last]
                self._rows[slot] = self._rows[last]
                self._targets[slot], self._sizes[slot] = moved, self._sizes[last]
                self._oldest[slot] = self._oldest[last]
                self._slot_of[moved] = slot
            del self._targets[last], self._sizes[last], self._oldest[last]
        room = len(self._rows)
        while 4 * len(self._targets) < room > 8:  # a crowd has left: give back room
            room //= 2
        if room < len(self._rows):
            self._rows = self._rows[:room].copy()

    def nearest_distances(self, features: Vectors, targets: Sequence[int]) -> Array:
        """(len(targets), N): each target's smallest cosine distance to each of
        ``features`` (N, dim)."""
        if not len(targets) or not len(features):
            return np.zeros((len(targets), len(features)))
        queries = _unit_rows(np.asarray(features))
        rows = [self._slot_of[t] for t in targets]
        if 2 * len(rows) < len(self._targets):  # a few: copy theirs out
            galleries, rows = self._rows[rows], list(range(len(rows)))
        else:  # most or all (once a frame): the whole array, no copy
            galleries = self._rows[: len(self._targets)]
        slots, depth, dim = galleries.shape
        products = galleries.reshape(slots * depth, dim) @ queries.T
        # The nearest row is the most similar one: 1 - x is monotone in floating point too.
        similarity = np.maximum.reduceat(products, np.arange(0, slots * depth, depth), axis=0)
        return np.asarray(1.0 - similarity[rows], np.float64)

    def _reserve(self, slots: int, depth: int, like: Vectors) -> None:
        """Room for ``slots`` slots of ``depth`` rows of ``like``'s width and type."""
        have_slots, have_depth, dim = self._rows.shape
        if have_slots and dim != like.shape[-1]:
            raise ValueError(f"embeddings of {like.shape[-1]} values, galleries of {dim}")
        dtype = np.result_type(self._rows.dtype, like.dtype)
        if slots <= have_slots and depth <= have_depth and dtype == self._rows.dtype:
            return
        new_depth = max(have_depth, 1)
        while new_depth < depth:
            new_depth *= 2
        if self._budget is not None:
            new_depth = min(new_depth, self._budget)
        rows = np.empty((max(slots, 2 * have_slots), new_depth, like.shape[-1]), dtype)
        if have_slots:
            rows[:have_slots, :have_depth] = self._rows
            rows[:have_slots, have_depth:] = self._rows[:, :1]  # first rows as the padding
        self._rows = rows


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
        for target in targets:
            if target not in self._unit:
                self._unit.add(target, _unit_gallery(self._samples[target]))
        return self._unit.nearest_distances(features, targets)
