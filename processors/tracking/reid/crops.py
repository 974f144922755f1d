"""Identity-labelled object crops cut from generated scenes, for training and validation.

Every object of a generated scene has a known identity, so crops need no annotation. Frames
go through the same JPEG round trip as in the pipeline, and each box edge is moved by a
random fraction of the box size, as a detector's boxes are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processors.pipeline.frame_processor import decode_jpeg
from processors.tracking.embedder import crop_boxes
from processors.tracking.reid.network import INPUT_SIZE, resized
from producers.jpeg import encode_jpeg
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator

__all__ = ["CropPlan", "CropSet", "scene_crops"]


@dataclass(frozen=True, slots=True)
class CropPlan:
    """Which frames and objects become crops, and how they are cut."""

    frames: int = 300
    stride: int = 4
    min_visibility: float = 0.3
    box_jitter: float = 0.08
    jpeg_quality: int = 90


@dataclass(frozen=True, slots=True)
class CropSet:
    """``images`` (N, 48, 48, 3) uint8 BGR; ``labels`` (N,) identity 0..K-1 over all scenes;
    ``scenes`` (N,) index of the scene each crop comes from, ``frames`` (N,) its frame index
    in that scene; ``classes`` (N,) class id."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    scenes: npt.NDArray[np.int64]
    frames: npt.NDArray[np.int64]
    classes: npt.NDArray[np.int64]

    @property
    def identities(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0


def _jittered(
    box: tuple[float, float, float, float], jitter: float, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    dx = rng.uniform(-jitter, jitter, 2) * w
    dy = rng.uniform(-jitter, jitter, 2) * h
    return x1 + dx[0], y1 + dy[0], x2 + dx[1], y2 + dy[1]


def scene_crops(seeds: Iterable[int], plan: CropPlan, rng_seed: int = 0) -> CropSet:
    """Crops of every object at least ``plan.min_visibility`` visible, every ``plan.stride``
    frames of each scene; identities are numbered over all scenes in order."""
    rng = np.random.default_rng(rng_seed)
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    scenes: list[int] = []
    frames: list[int] = []
    classes: list[int] = []
    next_label = 0
    for scene_index, seed in enumerate(seeds):
        ids: dict[int, int] = {}
        for frame in SceneGenerator(seed, SceneConfig(num_frames=plan.frames)).frames():
            if frame.index % plan.stride:
                continue
            wanted = [o for o in frame.objects if o.visibility >= plan.min_visibility]
            if not wanted:
                continue
            image = decode_jpeg(encode_jpeg(frame.image, plan.jpeg_quality))
            boxes = np.array([_jittered(o.xyxy, plan.box_jitter, rng) for o in wanted])
            for obj, crop in zip(wanted, crop_boxes(image, boxes), strict=True):
                if obj.track_id not in ids:
                    ids[obj.track_id] = next_label
                    next_label += 1
                images.append(resized(crop))
                labels.append(ids[obj.track_id])
                scenes.append(scene_index)
                frames.append(frame.index)
                classes.append(obj.class_id)
    return CropSet(
        np.stack(images) if images else np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.uint8),
        np.asarray(labels, np.int64),
        np.asarray(scenes, np.int64),
        np.asarray(frames, np.int64),
        np.asarray(classes, np.int64),
    )
