"""Detection mAP at IoU 0.5 (COCO-style 101-point interpolated AP, mean over classes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from visiontrack.evaluation.boxes import iou_matrix
from visiontrack.evaluation.rows import BoxRows

__all__ = ["average_precision", "map50"]

_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def average_precision(
    scores: npt.NDArray[np.float64], true_positive: npt.NDArray[np.bool_], num_gt: int
) -> float:
    """AP of detections with ``scores`` (N,), each a true or false positive, for ``num_gt``."""
    if num_gt == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(true_positive[order])
    fp = np.cumsum(~true_positive[order])
    recall = tp / num_gt
    precision = tp / np.maximum(tp + fp, 1e-12)
    # precision envelope: best precision at any recall >= r
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, _RECALL_POINTS, side="left")
    sampled = np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)
    return float(sampled.mean())


def _match_frame(gt: BoxRows, det: BoxRows, cls: int) -> tuple[list[float], list[bool]]:
    """Greedy matching by score, as in COCO/VOC: each ground truth matches at most once."""
    g = gt.xyxy[gt.classes == cls]
    d_mask = det.classes == cls
    d, s = det.xyxy[d_mask], det.scores[d_mask]
    order = np.argsort(-s, kind="stable")
    iou = iou_matrix(d[order], g)
    taken = np.zeros(len(g), dtype=bool)
    hits = []
    for i in range(len(order)):
        candidates = np.where(~taken, iou[i], -1.0) if len(g) else np.array([])
        j = int(np.argmax(candidates)) if len(candidates) else -1
        hit = j >= 0 and candidates[j] >= 0.5
        if hit:
            taken[j] = True
        hits.append(bool(hit))
    return [float(x) for x in s[order]], hits


def map50(sequences: Sequence[tuple[BoxRows, BoxRows, int]], num_classes: int) -> float:
    """mAP@0.5 over ``(ground truth, detections, number of frames)`` sequences.

    Classes without ground truth are left out of the mean.
    """
    frames = [list(zip(gt.per_frame(n), det.per_frame(n), strict=True)) for gt, det, n in sequences]
    aps = []
    for cls in range(num_classes):
        scores: list[float] = []
        hits: list[bool] = []
        num_gt = 0
        for (gt, _, _), pairs in zip(sequences, frames, strict=True):
            num_gt += int((gt.classes == cls).sum())
            for gt_t, det_t in pairs:
                s, h = _match_frame(gt_t, det_t, cls)
                scores += s
                hits += h
        ap = average_precision(np.array(scores), np.array(hits, dtype=bool), num_gt)
        if not np.isnan(ap):
            aps.append(ap)
    return float(np.mean(aps)) if aps else 0.0
