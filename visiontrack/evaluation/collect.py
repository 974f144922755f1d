"""Turning ground truth, processed frames and stored rows into :class:`BoxRows`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from producers.synthetic.scene import GroundTruthObject
from schemas.tracks import FrameTracks
from visiontrack.analytics_store import StoredFrame
from visiontrack.evaluation.rows import BoxRows

__all__ = ["RowsBuilder", "SceneResult", "ground_truth_rows"]

Box = tuple[float, float, float, float]


@dataclass
class RowsBuilder:
    frames: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, frame: int, ident: int, cls: int, box: Box, score: float) -> None:
        self.frames.append(frame)
        self.ids.append(ident)
        self.classes.append(cls)
        self.boxes.append(box)
        self.scores.append(score)

    def build(self) -> BoxRows:
        return BoxRows.from_lists(self.frames, self.ids, self.classes, self.boxes, self.scores)


def ground_truth_rows(frames: Iterable[Sequence[GroundTruthObject]]) -> BoxRows:
    """Ground truth of a scene, frame by frame; scores are visibilities."""
    rows = RowsBuilder()
    for t, objects in enumerate(frames):
        for o in objects:
            rows.add(t, o.track_id, o.class_id, o.xyxy, o.visibility)
    return rows.build()


@dataclass(frozen=True, slots=True)
class SceneResult:
    """What the system made of one scene: confirmed tracks and raw detections."""

    tracks: BoxRows
    detections: BoxRows


def from_frame_tracks(results: Iterable[FrameTracks], first_frame_no: int) -> SceneResult:
    tracks, dets = RowsBuilder(), RowsBuilder()
    for r in results:
        t = r.frame_no - first_frame_no
        for o in r.tracks:
            tracks.add(t, o.track_id, o.class_id, (o.x1, o.y1, o.x2, o.y2), o.confidence)
        for i, d in enumerate(r.detections):
            dets.add(t, i, d.class_id, (d.x1, d.y1, d.x2, d.y2), d.confidence)
    return SceneResult(tracks.build(), dets.build())


def from_stored_frames(stored: Iterable[StoredFrame], first_frame_no: int) -> SceneResult:
    tracks, dets = RowsBuilder(), RowsBuilder()
    for f in stored:
        t = f.frame_no - first_frame_no
        for ident, cls, conf, box in zip(
            f.track_ids, f.track_class_ids, f.track_confidences, f.track_boxes, strict=True
        ):
            tracks.add(t, ident, cls, box, conf)
        for i, (cls, conf, box) in enumerate(
            zip(f.det_class_ids, f.det_confidences, f.det_boxes, strict=True)
        ):
            dets.add(t, i, cls, box, conf)
    return SceneResult(tracks.build(), dets.build())
