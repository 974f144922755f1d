"""StreamTracker on plain arrays: ids stay with objects, streams do not share ids."""

from __future__ import annotations

import numpy as np

from processors.tracking.tracker import StreamTracker


def _step(
    tracker: StreamTracker, boxes: list[list[float]], feats: list[np.ndarray]
) -> dict[int, tuple[float, ...]]:
    xyxy = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    out = tracker.update(
        xyxy,
        np.full(len(boxes), 0.9, np.float32),
        np.zeros(len(boxes), np.int64),
        feats,
    )
    return {t.track_id: t.xyxy for t in out}


def _feature(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_two_moving_objects_keep_their_ids() -> None:
    tracker = StreamTracker(max_age=5, n_init=2)
    fa, fb = _feature(1), _feature(2)
    seen: list[dict[int, tuple[float, ...]]] = []
    for t in range(12):
        a = [10.0 + 3 * t, 10.0, 40.0 + 3 * t, 60.0]
        b = [200.0 - 3 * t, 100.0, 230.0 - 3 * t, 150.0]
        seen.append(_step(tracker, [a, b], [fa, fb]))
    assert seen[0] == {}  # not confirmed before n_init frames
    final = seen[-1]
    assert len(final) == 2
    ids_by_side = {tid: box[0] < 100 for tid, box in final.items()}
    for frame in seen[2:]:
        assert set(frame) == set(final)
        for tid, box in frame.items():
            assert (box[0] < 150) == ids_by_side[tid]


def test_streams_number_tracks_independently() -> None:
    one, two = StreamTracker(n_init=1), StreamTracker(n_init=1)
    f = _feature(3)
    for _ in range(3):
        _step(one, [[0, 0, 10, 10]], [f])
    ids_two = set()
    for _ in range(3):
        ids_two |= set(_step(two, [[50, 50, 60, 60]], [f]))
    assert ids_two == {1}
    one.reset()
    assert set(_step(one, [[0, 0, 10, 10]], [f])) <= {1}


def test_degenerate_boxes_are_dropped_with_their_embeddings() -> None:
    tracker = StreamTracker(n_init=1)
    out = {}
    for _ in range(2):
        out = _step(tracker, [[0, 0, 0, 10], [5, 5, 25, 25]], [_feature(4), _feature(5)])
    assert list(out.values()) == [(5.0, 5.0, 25.0, 25.0)]
