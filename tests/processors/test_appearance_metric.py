"""The stacked appearance metric gives deep-sort-realtime's cost matrix, in one product."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric

from processors.tracking.appearance import (
    StackedCosineMetric,
    UnitGalleries,
    nearest_cosine_distances,
)
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


@pytest.mark.parametrize("budget", [None, 4])
def test_galleries_kept_normalized_between_frames_match_every_frame(budget: int | None) -> None:
    """Matched at every frame, as DeepSORT does: the normalized galleries, extended and cut
    to the budget frame by frame, give the cost matrix of the galleries themselves, and
    forget the targets that are no longer active."""
    original = NearestNeighborDistanceMetric("cosine", 0.3, budget)
    stacked = StackedCosineMetric(0.3, budget)
    rng = np.random.default_rng(7)
    for frame in range(12):
        active = [t for t in range(1, 7) if t != 6 or frame < 5]  # track 6 ends at frame 5
        targets = np.asarray([t for t in active if t == 1 or frame == 0 or rng.random() < 0.6])
        features = rng.normal(size=(len(targets), 16)).astype(np.float32)
        for metric in (original, stacked):
            metric.partial_fit(features, targets, active)
        queries = rng.normal(size=(5, 16)).astype(np.float32)
        np.testing.assert_allclose(
            stacked.distance(queries, active), original.distance(queries, active), atol=1e-6
        )
        assert sorted(stacked.samples) == sorted(original.samples) == active
    sizes = {t: len(gallery) for t, gallery in stacked.samples.items()}
    assert sizes == {t: len(gallery) for t, gallery in original.samples.items()}
    assert max(sizes.values()) == (budget or 12)  # track 1 had one at every frame


def test_galleries_set_whole_replace_the_normalized_ones() -> None:
    """A restored snapshot sets the galleries at once: distances come from them."""
    stacked = _fitted(StackedCosineMetric(0.3, None), seed=4)
    queries = np.random.default_rng(5).normal(size=(3, 16)).astype(np.float32)
    stacked.distance(queries, [1, 2])  # normalized galleries now cached
    restored = {1: [queries[0]], 2: [queries[1], queries[2]]}
    stacked.samples = restored
    np.testing.assert_allclose(
        stacked.distance(queries, [1, 2]),
        nearest_cosine_distances([restored[1], restored[2]], queries),
        atol=1e-6,
    )
    np.testing.assert_allclose(np.diag(stacked.distance(queries[:2], [1, 2])), 0.0, atol=1e-6)


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


@pytest.mark.parametrize("budget", [None, 1, 5])
def test_galleries_written_in_place_give_the_nearest_of_their_last_budget_rows(
    budget: int | None,
) -> None:
    """Rows written in place (room grown, then the oldest overwritten), targets forgotten
    from the middle and the end, and a few targets asked for or all: every distance is that
    of the gallery's last ``budget`` rows as lists would keep them."""
    rng = np.random.default_rng(11)
    galleries = UnitGalleries(budget)
    reference: dict[int, list[np.ndarray]] = {}
    next_target = 1
    for frame in range(40):
        if frame % 7 == 3 and len(reference) > 2:  # one ends, not always the newest
            ended = sorted(reference)[frame % len(reference)]
            del reference[ended]
            galleries.keep(reference)
        if frame % 5 == 0:  # one starts, with a few rows at once
            rows = _unit(rng.normal(size=(1 + frame % 3, 16)))
            galleries.add(next_target, rows)
            reference[next_target] = list(rows)
            next_target += 1
        for target in reference:
            if rng.random() < 0.8:
                rows = _unit(rng.normal(size=(1 + (frame % 4 == 0), 16)))
                galleries.extend(target, rows)
                reference[target] += list(rows)
        kept = {t: rows[-budget:] if budget else rows for t, rows in reference.items()}
        queries = rng.normal(size=(6, 16)).astype(np.float32)
        targets = sorted(kept)
        for asked in (targets, targets[::-1][:1]):  # all (in another order), and a few
            np.testing.assert_allclose(
                galleries.nearest_distances(queries, asked),
                nearest_cosine_distances([kept[t] for t in asked], queries),
                atol=1e-6,
            )
    assert len(galleries) == len(reference) > 2
    assert max(len(rows) for rows in reference.values()) > (budget or 0)


def test_only_the_allowed_pairs_are_compared() -> None:
    """Galleries young (shorter than their room), full and wrapped: the allowed pairs get
    the distances of the full matrix, the rest the fill."""
    rng = np.random.default_rng(9)
    galleries = UnitGalleries(6)
    galleries.add(1, _unit(rng.normal(size=(6, 8))))
    for _ in range(4):  # target 1 wraps round its budget
        newest_of_1 = _unit(rng.normal(size=(1, 8)))
        galleries.extend(1, newest_of_1)
    galleries.add(2, _unit(rng.normal(size=(1, 8))))  # one row, five of padding
    rows_of_3 = _unit(rng.normal(size=(3, 8)))
    galleries.add(3, rows_of_3)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    queries[0], queries[4] = rows_of_3[-1] * 2.0, newest_of_1[0]  # each a gallery's newest
    allowed = rng.random((3, 5)) < 0.5
    allowed[:, 0] = allowed[:, 4] = True
    allowed[1, 1:4] = False
    targets = [1, 2, 3]
    gated = galleries.nearest_distances_where(queries, targets, allowed, fill=1e5)
    np.testing.assert_allclose(
        gated[allowed], galleries.nearest_distances(queries, targets)[allowed], atol=1e-6
    )
    np.testing.assert_allclose([gated[2, 0], gated[0, 4]], 0.0, atol=1e-6)
    assert (gated[~allowed] == 1e5).all()
    nothing = np.zeros((3, 5), bool)
    assert (galleries.nearest_distances_where(queries, targets, nothing, fill=7.0) == 7.0).all()


def test_a_gallery_is_added_once_and_not_empty() -> None:
    galleries = UnitGalleries(4)
    galleries.add(1, _unit(np.ones((2, 8))))
    with pytest.raises(ValueError, match="already"):
        galleries.add(1, _unit(np.ones((1, 8))))
    with pytest.raises(ValueError, match="no embeddings"):
        galleries.add(2, np.ones((0, 8), np.float32))


def _unit(vectors: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.float32)
