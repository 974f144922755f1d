"""``SceneGenerator``: a deterministic synthetic street scene with exact ground truth.

Ground truth rule: an object is listed in a frame when its visibility (visible mask pixels /
all mask pixels, after depth ordering, occluders and the frame border) is at least
``config.min_visibility`` and its clipped box is at least ``config.min_box_px`` wide and
high. Boxes are the tight box of the object's full mask (xyxy pixels, x2/y2 exclusive edges),
shifted by the frame's camera jitter and clipped to the frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from producers.synthetic.background import render_background
from producers.synthetic.config import CLASS_NAMES, SceneConfig
from producers.synthetic.layout import SceneLayout, make_layout
from producers.synthetic.motion import MotionModel, Mover
from producers.synthetic.render import Camera, composite
from producers.synthetic.sprites import Sprite, draw_object

__all__ = ["GroundTruthObject", "SceneFrame", "SceneGenerator"]

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class GroundTruthObject:
    """One object in one frame; ``xyxy`` in pixels clipped to the frame, visibility in [0, 1]."""

    track_id: int
    class_id: int
    class_name: str
    xyxy: tuple[float, float, float, float]
    visibility: float


@dataclass(frozen=True, slots=True, eq=False)
class SceneFrame:
    """Frame ``index`` (0-based): ``image`` (H, W, 3) uint8 BGR and its ground truth."""

    index: int
    image: Image
    objects: tuple[GroundTruthObject, ...]


class SceneGenerator:
    """A scene fully determined by ``seed`` and ``config``; iterate it for ``SceneFrame``s.

    Each iteration (``frames()``, ``ground_truth()``) replays the scene from its first frame,
    so a generator can be iterated many times with identical results.
    """

    def __init__(self, seed: int, config: SceneConfig | None = None) -> None:
        self.seed = seed
        self.config = config or SceneConfig()
        layout_rng, _, camera_rng = self._streams()
        self.layout: SceneLayout = make_layout(self.config, layout_rng)
        self._background, self._occluders = render_background(
            self.layout, self.config.jitter_px, layout_rng
        )
        self._camera = Camera.make(self.config, camera_rng)

    def _streams(self) -> list[np.random.Generator]:
        """Independent generators for layout, motion and camera, derived from the seed."""
        return np.random.default_rng(self.seed).spawn(3)

    def __len__(self) -> int:
        return self.config.num_frames

    def __iter__(self) -> Iterator[SceneFrame]:
        return self.frames()

    def frames(self) -> Iterator[SceneFrame]:
        """Every frame with its image and ground truth, in order."""
        for index, movers in enumerate(self._states()):
            image = self.render_background(index)
            objects = self._ground_truth(index, movers, image)
            yield SceneFrame(index, self._camera.apply(image, index), objects)

    def ground_truth(self) -> Iterator[tuple[GroundTruthObject, ...]]:
        """The ground truth of every frame without painting images (masks are still drawn)."""
        for index, movers in enumerate(self._states()):
            yield self._ground_truth(index, movers, None)

    def render_background(self, index: int = 0) -> Image:
        """Frame ``index`` without objects, noise or flicker: (H, W, 3) uint8 BGR (a copy)."""
        dx, dy = (int(v) for v in self._camera.shifts[index])
        m, h, w = self.config.jitter_px, self.config.height, self.config.width
        return self._background[m + dy : m + dy + h, m + dx : m + dx + w].copy()

    def _states(self) -> Iterator[list[Mover]]:
        motion = MotionModel(self.layout, self.config, self._streams()[1])
        for index in range(self.config.num_frames):
            if index:
                motion.step()
            yield motion.movers

    def _ground_truth(
        self, index: int, movers: list[Mover], canvas: Image | None
    ) -> tuple[GroundTruthObject, ...]:
        drawn: list[tuple[Mover, Sprite]] = []
        for mover in movers:
            sprite = draw_object(
                mover.look, mover.pose(self.layout), with_colour=canvas is not None
            )
            if sprite is not None:
                drawn.append((mover, sprite))
        dx, dy = (int(v) for v in self._camera.shifts[index])
        cfg = self.config
        visible = composite(
            [s for _, s in drawn], self._occluders, (dx, dy), (cfg.width, cfg.height), canvas
        )
        out: list[GroundTruthObject] = []
        for (mover, sprite), vis in zip(drawn, visible, strict=True):
            x1, y1, x2, y2 = sprite.box
            x1, x2 = min(max(x1 - dx, 0), cfg.width), min(max(x2 - dx, 0), cfg.width)
            y1, y2 = min(max(y1 - dy, 0), cfg.height), min(max(y2 - dy, 0), cfg.height)
            if vis < cfg.min_visibility or min(x2 - x1, y2 - y1) < cfg.min_box_px:
                continue
            box = (float(x1), float(y1), float(x2), float(y2))
            name = CLASS_NAMES[mover.class_id]
            out.append(GroundTruthObject(mover.track_id, mover.class_id, name, box, vis))
        return tuple(out)
