"""Tracking metrics (TrackEval) and detection mAP on small hand-made sequences."""

from __future__ import annotations

import numpy as np
import pytest

from visiontrack.evaluation.boxes import iou_matrix
from visiontrack.evaluation.detection_map import average_precision, map50
from visiontrack.evaluation.rows import BoxRows
from visiontrack.evaluation.tracking_metrics import evaluate_tracking

FRAMES = 20


Row = tuple[int, int, int, tuple[float, float, float, float], float]


def _rows(rows: list[Row]) -> BoxRows:
    frames, ids, classes, boxes, scores = zip(*rows, strict=True) if rows else ((),) * 5
    return BoxRows.from_lists(list(frames), list(ids), list(classes), list(boxes), list(scores))


def _two_walkers(
    swap_at: int | None = None, skip: set[int] | None = None, cls_b: int = 0
) -> tuple[BoxRows, BoxRows]:
    """Object 1 walks right at y=0, object 2 at y=100; tracker ids 7 and 8."""
    gt: list[Row] = []
    tracked: list[Row] = []
    for t in range(FRAMES):
        for gid, y, own_id in ((1, 0.0, 7), (2, 100.0, 8)):
            box = (5.0 * t, y, 5.0 * t + 40, y + 80)
            gt.append((t, gid, 0, box, 1.0))
            if skip and t in skip and gid == 1:
                continue
            tid = 15 - own_id if swap_at is not None and t >= swap_at else own_id  # 7 <-> 8
            tracked.append((t, tid, 0 if gid == 1 else cls_b, box, 0.9))
    return _rows(gt), _rows(tracked)


def test_iou_matrix() -> None:
    iou = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


def test_perfect_tracking_scores_one() -> None:
    gt, tr = _two_walkers()
    s = evaluate_tracking([(gt, tr, FRAMES)])
    assert (s.hota, s.mota, s.idf1, s.id_switches) == pytest.approx((1.0, 1.0, 1.0, 0))


def test_an_identity_swap_costs_two_switches() -> None:
    gt, tr = _two_walkers(swap_at=10)
    s = evaluate_tracking([(gt, tr, FRAMES)])
    assert s.id_switches == 2
    assert s.mota == pytest.approx(1 - 2 / (2 * FRAMES))
    assert s.idf1 == pytest.approx(0.5)
    assert s.hota < 0.8


def test_missed_boxes_lower_mota_by_their_share() -> None:
    gt, tr = _two_walkers(skip={3, 4, 5, 6})
    s = evaluate_tracking([(gt, tr, FRAMES)])
    assert s.mota == pytest.approx(1 - 4 / (2 * FRAMES))


def test_a_box_of_the_wrong_class_does_not_match() -> None:
    gt, tr = _two_walkers(cls_b=1)
    s = evaluate_tracking([(gt, tr, FRAMES)])
    assert s.mota == pytest.approx(1 - 2 * FRAMES / (2 * FRAMES))  # one miss + one FP per frame


def test_barely_visible_ground_truth_is_ignored_both_ways() -> None:
    gt, tr = _two_walkers(skip=set(range(FRAMES)))  # object 1 never tracked
    hidden = BoxRows(gt.frames, gt.ids, gt.classes, gt.xyxy, np.where(gt.ids == 1, 0.1, 1.0))
    assert evaluate_tracking([(hidden, tr, FRAMES)], min_visibility=0.2).mota == 1.0
    # ...and tracking it is not a false positive either
    full_gt, full_tr = _two_walkers()
    hidden = BoxRows(
        full_gt.frames,
        full_gt.ids,
        full_gt.classes,
        full_gt.xyxy,
        np.where(full_gt.ids == 1, 0.1, 1.0),
    )
    s = evaluate_tracking([(hidden, full_tr, FRAMES)], min_visibility=0.2)
    assert (s.mota, s.gt_dets, s.tracker_dets) == (1.0, FRAMES, FRAMES)


def test_average_precision_by_hand() -> None:
    # 3 ground truths; detections by score: TP, FP, TP -> precision 1, .5, .67 at recall 1/3, 2/3
    ap = average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 3)
    recall = np.linspace(0, 1, 101)
    expected = np.where(recall <= 1 / 3, 1.0, np.where(recall <= 2 / 3, 2 / 3, 0.0)).mean()
    assert ap == pytest.approx(expected)
    assert average_precision(np.array([]), np.array([], dtype=bool), 2) == 0.0


def test_map50_is_one_for_exact_detections_and_drops_with_a_confident_false_positive() -> None:
    gt, tr = _two_walkers()
    assert map50([(gt, tr, FRAMES)], num_classes=3) == pytest.approx(1.0)
    extra = BoxRows.from_lists(
        [*tr.frames.tolist(), 0],
        [*tr.ids.tolist(), 99],
        [*tr.classes.tolist(), 0],
        [*map(tuple, tr.xyxy.tolist()), (300.0, 300.0, 340.0, 380.0)],
        [*tr.scores.tolist(), 0.99],
    )
    assert map50([(gt, extra, FRAMES)], num_classes=3) < 1.0
