"""Writers and readers for scene ground truth: MOTChallenge gt.txt, YOLO labels, videos.

MOTChallenge rows are ``frame,id,x,y,w,h,conf,class,visibility`` with 1-based frames,
top-left x, y and width, height in pixels, conf 1. YOLO labels are ``class cx cy w h``
normalised to [0, 1] by the frame size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from producers.synthetic.config import CLASS_NAMES, SceneConfig
from producers.synthetic.scene import GroundTruthObject, SceneGenerator

__all__ = [
    "MotRow",
    "mot_rows",
    "read_mot",
    "write_mot",
    "write_video",
    "write_yolo_dataset",
    "yolo_label_lines",
]

_MOT_FIELDS = 9


@dataclass(frozen=True, slots=True)
class MotRow:
    """One MOTChallenge row; box as top-left (x, y) and size (w, h) in pixels."""

    frame: int
    track_id: int
    x: float
    y: float
    w: float
    h: float
    conf: float
    class_id: int
    visibility: float

    def to_line(self) -> str:
        return (
            f"{self.frame},{self.track_id},{self.x:.2f},{self.y:.2f},{self.w:.2f},{self.h:.2f},"
            f"{self.conf:g},{self.class_id},{self.visibility:.4f}"
        )

    @classmethod
    def from_line(cls, line: str) -> MotRow:
        parts = line.strip().split(",")
        if len(parts) != _MOT_FIELDS:
            raise ValueError(f"expected {_MOT_FIELDS} fields in MOT row, got {line!r}")
        f, t, x, y, w, h, c, k, v = parts
        return cls(
            int(f), int(t), float(x), float(y), float(w), float(h), float(c), int(k), float(v)
        )


def mot_rows(frames: Iterable[tuple[int, Sequence[GroundTruthObject]]]) -> list[MotRow]:
    """Rows for ``(0-based frame index, objects)`` pairs, rounded as they are written."""
    rows: list[MotRow] = []
    for index, objects in frames:
        for o in objects:
            x1, y1, x2, y2 = o.xyxy
            rows.append(
                MotRow(
                    index + 1,
                    o.track_id,
                    round(x1, 2),
                    round(y1, 2),
                    round(x2 - x1, 2),
                    round(y2 - y1, 2),
                    1.0,
                    o.class_id,
                    round(o.visibility, 4),
                )
            )
    return rows


def write_mot(path: Path, rows: Iterable[MotRow]) -> None:
    path.write_text("".join(row.to_line() + "\n" for row in rows), encoding="utf-8")


def read_mot(path: Path) -> list[MotRow]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [MotRow.from_line(line) for line in lines if line.strip()]


def yolo_label_lines(objects: Iterable[GroundTruthObject], width: int, height: int) -> list[str]:
    """``class cx cy w h`` lines, normalised by the frame ``width`` and ``height``."""
    lines = []
    for o in objects:
        x1, y1, x2, y2 = o.xyxy
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        lines.append(
            f"{o.class_id} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}"
        )
    return lines


def _write_split(
    root: Path,
    split: str,
    seeds: Sequence[int],
    config: SceneConfig,
    *,
    stride: int,
    min_visibility: float,
) -> int:
    images, labels = root / "images" / split, root / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    count = 0
    for seed in seeds:
        for frame in SceneGenerator(seed, config).frames():
            if frame.index % stride:
                continue
            name = f"s{seed:05d}_f{frame.index:05d}"
            if not cv2.imwrite(str(images / f"{name}.jpg"), frame.image):
                raise OSError(f"cannot write {images / name}.jpg")
            kept = [o for o in frame.objects if o.visibility >= min_visibility]
            lines = yolo_label_lines(kept, config.width, config.height)
            (labels / f"{name}.txt").write_text("".join(f"{x}\n" for x in lines), "utf-8")
            count += 1
    return count


def write_yolo_dataset(
    root: Path,
    train_seeds: Sequence[int],
    val_seeds: Sequence[int],
    *,
    stride: int = 10,
    config: SceneConfig | None = None,
    min_visibility: float = 0.2,
) -> Path:
    """Write every ``stride``-th frame of each seed's scene as a YOLO dataset; returns data.yaml.

    Layout: ``images/{train,val}/*.jpg``, ``labels/{train,val}/*.txt`` and ``data.yaml``.
    Objects less visible than ``min_visibility`` get no label.
    """
    if stride < 1:
        raise ValueError("stride must be >= 1")
    cfg = config or SceneConfig()
    root.mkdir(parents=True, exist_ok=True)
    _write_split(root, "train", train_seeds, cfg, stride=stride, min_visibility=min_visibility)
    _write_split(root, "val", val_seeds, cfg, stride=stride, min_visibility=min_visibility)
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(CLASS_NAMES))
    data = root / "data.yaml"
    data.write_text(
        f"path: {json.dumps(str(root.resolve()))}\ntrain: images/train\nval: images/val\n"
        f"names:\n{names}",
        encoding="utf-8",
    )
    return data


def write_video(scene: SceneGenerator, path: Path, gt_path: Path | None = None) -> Path:
    """Write ``scene`` to an mp4v ``path`` and its gt.txt beside it; returns the gt path.

    The gt file defaults to ``path`` with the suffix ``.gt.txt`` (``a.mp4`` -> ``a.gt.txt``).
    """
    cfg = scene.config
    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(path), fourcc, cfg.fps, (cfg.width, cfg.height))
    if not writer.isOpened():
        raise OSError(f"cannot open video writer for {path}")
    rows: list[MotRow] = []
    try:
        for frame in scene.frames():
            writer.write(frame.image)
            rows.extend(mot_rows([(frame.index, frame.objects)]))
    finally:
        writer.release()
    gt = gt_path or path.with_suffix(".gt.txt")
    write_mot(gt, rows)
    return gt
