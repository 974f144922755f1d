"""Deterministic synthetic street scenes with exact ground truth (numpy and cv2 only).

``SceneGenerator(seed, config)`` yields ``SceneFrame``s: a (H, W, 3) uint8 BGR image and the
``GroundTruthObject``s in view (track id, class, xyxy pixel box clipped to the frame,
visibility from rendered masks). ``ground_truth`` holds MOTChallenge, YOLO and video writers,
``stats`` measures how hard a scene is, ``live`` paces frames like a camera.
"""

from producers.synthetic.config import CLASS_NAMES, SceneConfig
from producers.synthetic.ground_truth import (
    MotRow,
    mot_rows,
    read_mot,
    write_mot,
    write_video,
    write_yolo_dataset,
    yolo_label_lines,
)
from producers.synthetic.live import paced
from producers.synthetic.scene import GroundTruthObject, SceneFrame, SceneGenerator
from producers.synthetic.stats import SceneStatistics, scene_statistics

__all__ = [
    "CLASS_NAMES",
    "GroundTruthObject",
    "MotRow",
    "SceneConfig",
    "SceneFrame",
    "SceneGenerator",
    "SceneStatistics",
    "mot_rows",
    "paced",
    "read_mot",
    "scene_statistics",
    "write_mot",
    "write_video",
    "write_yolo_dataset",
    "yolo_label_lines",
]
