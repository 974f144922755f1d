"""Tracking accuracy with TrackEval: HOTA, CLEAR MOT (MOTA, ID switches) and IDF1.

Matching is class-aware: a tracker box can only match a ground-truth box of its class
(IoU across classes is set to 0). Ground truth that is barely visible is handled as in
MOTChallenge: boxes with visibility below ``min_visibility`` are removed, together with any
tracker box matched to them, so finding or missing them neither helps nor hurts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from visiontrack.evaluation.boxes import iou_matrix
from visiontrack.evaluation.rows import BoxRows

__all__ = ["TrackingScores", "evaluate_tracking"]

MATCH_IOU = 0.5


@dataclass(frozen=True, slots=True)
class TrackingScores:
    hota: float
    deta: float
    assa: float
    mota: float
    motp: float
    idf1: float
    id_switches: int
    gt_dets: int
    tracker_dets: int
    sequences: int


def _class_aware_iou(gt: BoxRows, tr: BoxRows) -> npt.NDArray[np.float64]:
    iou = iou_matrix(gt.xyxy, tr.xyxy)
    iou[gt.classes[:, None] != tr.classes[None, :]] = 0.0
    return iou


def _drop_ignored(gt: BoxRows, tr: BoxRows, min_visibility: float) -> tuple[BoxRows, BoxRows]:
    """Remove barely visible ground truth and the tracker boxes matched to it."""
    ignored = gt.scores < min_visibility
    if not ignored.any():
        return gt, tr
    iou = _class_aware_iou(gt, tr)
    rows, cols = linear_sum_assignment(-np.where(iou >= MATCH_IOU, iou, 0.0))
    matched = [(r, c) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= MATCH_IOU]
    drop_tr = np.zeros(len(tr), dtype=bool)
    for r, c in matched:
        if ignored[r]:
            drop_tr[c] = True
    keep_gt, keep_tr = ~ignored, ~drop_tr
    return gt.subset(keep_gt), tr.subset(keep_tr)


def _relabel(ids_per_frame: list[npt.NDArray[np.int64]]) -> tuple[list[npt.NDArray[np.int64]], int]:
    """Map ids to 0..K-1 over the sequence (TrackEval's expectation)."""
    unique = np.unique(np.concatenate(ids_per_frame)) if ids_per_frame else np.array([], np.int64)
    mapping = {int(v): i for i, v in enumerate(unique)}
    return [np.array([mapping[int(v)] for v in ids], dtype=np.int64) for ids in ids_per_frame], len(
        unique
    )


def sequence_data(
    gt: BoxRows, tracker: BoxRows, num_frames: int, min_visibility: float
) -> dict[str, Any]:
    """TrackEval's per-sequence input: ids per timestep and IoU similarity matrices."""
    gt_ids, tr_ids, sims = [], [], []
    for gt_t, tr_t in zip(gt.per_frame(num_frames), tracker.per_frame(num_frames), strict=True):
        g, r = _drop_ignored(gt_t, tr_t, min_visibility)
        gt_ids.append(g.ids)
        tr_ids.append(r.ids)
        sims.append(_class_aware_iou(g, r))
    gt_ids, num_gt_ids = _relabel(gt_ids)
    tr_ids, num_tr_ids = _relabel(tr_ids)
    return {
        "num_timesteps": num_frames,
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_tr_ids,
        "num_gt_dets": int(sum(len(x) for x in gt_ids)),
        "num_tracker_dets": int(sum(len(x) for x in tr_ids)),
        "gt_ids": gt_ids,
        "tracker_ids": tr_ids,
        "similarity_scores": sims,
    }


def evaluate_tracking(
    sequences: Sequence[tuple[BoxRows, BoxRows, int]], min_visibility: float = 0.0
) -> TrackingScores:
    """Scores over ``(ground truth, tracker output, number of frames)`` sequences, combined
    as TrackEval combines sequences (detections and associations summed, not averaged)."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    metrics = {
        "HOTA": HOTA(),
        "CLEAR": CLEAR({"PRINT_CONFIG": False}),
        "Identity": Identity({"PRINT_CONFIG": False}),
    }
    per_seq: dict[str, dict[str, Any]] = {name: {} for name in metrics}
    gt_dets = tr_dets = 0
    for i, (gt, tracker, num_frames) in enumerate(sequences):
        data = sequence_data(gt, tracker, num_frames, min_visibility)
        gt_dets += data["num_gt_dets"]
        tr_dets += data["num_tracker_dets"]
        for name, metric in metrics.items():
            per_seq[name][str(i)] = metric.eval_sequence(data)
    combined = {name: metrics[name].combine_sequences(per_seq[name]) for name in metrics}
    hota, clear, identity = combined["HOTA"], combined["CLEAR"], combined["Identity"]
    return TrackingScores(
        hota=float(np.mean(hota["HOTA"])),
        deta=float(np.mean(hota["DetA"])),
        assa=float(np.mean(hota["AssA"])),
        mota=float(clear["MOTA"]),
        motp=float(clear["MOTP"]),
        idf1=float(identity["IDF1"]),
        id_switches=int(clear["IDSW"]),
        gt_dets=gt_dets,
        tracker_dets=tr_dets,
        sequences=len(sequences),
    )
