"""Validated, immutable configuration of a synthetic scene."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = ["BICYCLE", "CAR", "CLASS_NAMES", "PERSON", "SceneConfig"]

CLASS_NAMES: Final = ("person", "car", "bicycle")
PERSON: Final = 0
CAR: Final = 1
BICYCLE: Final = 2

MIN_SIDE: Final = 96


@dataclass(frozen=True, slots=True)
class SceneConfig:
    """Everything that shapes a scene besides its seed.

    Sizes are in pixels of the output frame; object sizes scale with ``height / 480``.

    Attributes:
        width, height: frame size; frames are ``(height, width, 3)`` uint8 BGR.
        fps: frames per second of the scene (speeds are defined per second).
        num_frames: length of the scene.
        target_objects: population the spawner keeps (objects in view or entering it).
        class_mix: relative spawn weights of person, car and bicycle.
        occluders: number of static foreground occluders (poles, trees, signs, hedges).
        noise_sigma: standard deviation of the per-frame Gaussian pixel noise (grey levels).
        flicker: largest relative brightness change of a frame (0.04 means ±4 %).
        jitter_px: largest camera shake in pixels along each axis (0 disables it).
        min_visibility: objects less visible than this are left out of the ground truth.
        min_box_px: objects whose clipped box is narrower or lower than this are left out.
    """

    width: int = 640
    height: int = 480
    fps: float = 15.0
    num_frames: int = 300
    target_objects: int = 12
    class_mix: tuple[float, float, float] = (0.45, 0.35, 0.20)
    occluders: int = 5
    noise_sigma: float = 4.0
    flicker: float = 0.04
    jitter_px: int = 1
    min_visibility: float = 0.05
    min_box_px: float = 4.0

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid SceneConfig: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        out: list[str] = []
        if self.width < MIN_SIDE or self.height < MIN_SIDE:
            out.append(f"width and height must be >= {MIN_SIDE}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            out.append("fps must be a positive number")
        if self.num_frames < 1:
            out.append("num_frames must be >= 1")
        if self.target_objects < 0 or self.occluders < 0:
            out.append("target_objects and occluders must be >= 0")
        if len(self.class_mix) != len(CLASS_NAMES) or min(self.class_mix) < 0:
            out.append("class_mix needs three non-negative weights")
        elif sum(self.class_mix) <= 0:
            out.append("class_mix must not be all zero")
        if self.noise_sigma < 0 or not 0 <= self.flicker < 0.5:
            out.append("noise_sigma must be >= 0 and flicker in [0, 0.5)")
        if not 0 <= self.jitter_px <= 8:
            out.append("jitter_px must be in [0, 8]")
        if not 0 <= self.min_visibility <= 1 or self.min_box_px < 0:
            out.append("min_visibility must be in [0, 1] and min_box_px >= 0")
        return out

    @property
    def unit(self) -> float:
        """Pixels per model unit: object sizes are defined for a 480-pixel-high frame."""
        return self.height / 480.0

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps
