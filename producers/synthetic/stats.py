"""How hard a scene is: objects in view, occlusion, crossings, entries and exits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from producers.synthetic.scene import GroundTruthObject, SceneGenerator

__all__ = ["SceneStatistics", "box_iou", "scene_statistics", "statistics_from_ground_truth"]

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class SceneStatistics:
    """Summary of a scene's ground truth.

    mean_objects: ground-truth objects per frame. occluded_fraction: share of object-frames
    with visibility below ``occluded_below`` (hidden by objects, occluders or the border).
    crossing_events: episodes of two objects' boxes overlapping (IoU > 0): each maximal run of
    consecutive frames in which a pair overlaps counts once. entries / exits: tracks first
    seen after the first frame / last seen before the last frame.
    """

    num_frames: int
    duration_s: float
    num_tracks: int
    mean_objects: float
    occluded_fraction: float
    crossing_events: int
    crossings_per_second: float
    entries: int
    exits: int


def box_iou(a: Box, b: Box) -> float:
    """IoU of two xyxy boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _overlapping_pairs(objects: Sequence[GroundTruthObject]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for i, a in enumerate(objects):
        for b in objects[i + 1 :]:
            if box_iou(a.xyxy, b.xyxy) > 0:
                pairs.add((min(a.track_id, b.track_id), max(a.track_id, b.track_id)))
    return pairs


def statistics_from_ground_truth(
    frames: Iterable[Sequence[GroundTruthObject]], fps: float, occluded_below: float = 0.95
) -> SceneStatistics:
    """Statistics of per-frame ground truth (one sequence of objects per frame, in order)."""
    num_frames = objects = occluded = events = 0
    previous: set[tuple[int, int]] = set()
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for index, frame in enumerate(frames):
        num_frames += 1
        objects += len(frame)
        occluded += sum(o.visibility < occluded_below for o in frame)
        pairs = _overlapping_pairs(frame)
        events += len(pairs - previous)
        previous = pairs
        for o in frame:
            first.setdefault(o.track_id, index)
            last[o.track_id] = index
    duration = num_frames / fps
    return SceneStatistics(
        num_frames=num_frames,
        duration_s=duration,
        num_tracks=len(first),
        mean_objects=objects / num_frames if num_frames else 0.0,
        occluded_fraction=occluded / objects if objects else 0.0,
        crossing_events=events,
        crossings_per_second=events / duration if duration else 0.0,
        entries=sum(f > 0 for f in first.values()),
        exits=sum(t < num_frames - 1 for t in last.values()),
    )


def scene_statistics(scene: SceneGenerator, occluded_below: float = 0.95) -> SceneStatistics:
    """Statistics of a whole scene, from its render-free ground truth (masks, no images)."""
    return statistics_from_ground_truth(scene.ground_truth(), scene.config.fps, occluded_below)
