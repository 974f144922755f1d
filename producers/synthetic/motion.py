"""Object state and movement: entries and exits at the borders, lanes, stops, speed changes.

Every object follows a polyline of waypoints (foot points in neutral image pixels) whose
first and last points lie outside the frame, so objects enter and leave through the borders.
Cars and lane cyclists follow their lane and queue behind slower vehicles; pedestrians walk
along sidewalks, over the crosswalk, or across the scene through random waypoints, which
makes paths cross. Each scene's ``MotionModel`` owns its track-id counter and its generator.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from producers.synthetic.config import BICYCLE, CAR, PERSON, SceneConfig
from producers.synthetic.layout import Lane, SceneLayout
from producers.synthetic.sprites import MODEL_SIZE, Look, Pose, make_look

__all__ = ["MotionModel", "Mover"]

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class _Dynamics:
    cruise: tuple[float, float]  # model units per second
    stop_rate: float  # stops started per second while in view
    stop_s: tuple[float, float]
    change_rate: float  # speed changes per second
    accel: float  # change of the speed factor per second


_DYNAMICS: Final = (  # indexed by class id: person, car, bicycle
    _Dynamics((30.0, 50.0), 0.07, (1.0, 4.0), 0.3, 2.0),
    _Dynamics((80.0, 140.0), 0.05, (1.0, 3.0), 0.25, 0.8),
    _Dynamics((55.0, 85.0), 0.04, (0.5, 2.0), 0.25, 1.0),
)
_SPAWN_P: Final = 0.35


@dataclass(slots=True)
class Mover:
    """One object's state; ``(x, y)`` is its foot point, ``path`` the waypoints ahead."""

    track_id: int
    look: Look
    x: float
    y: float
    path: list[Point]
    lane: Lane | None
    cruise: float
    factor: float = 1.0
    target: float = 1.0
    stop_frames: int = 0
    phase: float = 0.0
    facing: int = 1

    @property
    def class_id(self) -> int:
        return self.look.class_id

    def pose(self, layout: SceneLayout) -> Pose:
        stride = min(1.0, 1.5 * self.factor)
        return Pose(self.x, self.y, layout.scale_at(self.y), self.facing, self.phase, stride)


class MotionModel:
    """Advances all objects of one scene frame by frame; ``movers`` is the live population."""

    def __init__(self, layout: SceneLayout, config: SceneConfig, rng: np.random.Generator) -> None:
        self._layout = layout
        self._config = config
        self._rng = rng
        self._next_id = 1
        self._mix = np.asarray(config.class_mix, float) / sum(config.class_mix)
        self.movers: list[Mover] = []
        for _ in range(config.target_objects):
            self._spawn(progress=float(rng.uniform(0.05, 0.95)))

    def step(self) -> None:
        """Advance every object by one frame, drop those that left, maybe spawn one."""
        for mover in self.movers:
            self._control(mover)
        for mover in self.movers:
            self._move(mover, self._speed_px(mover))
        self.movers = [m for m in self.movers if m.path]
        if len(self.movers) < self._config.target_objects and self._rng.random() < _SPAWN_P:
            self._spawn(progress=0.0)

    # --- speed control -------------------------------------------------------------------

    def _speed_px(self, mover: Mover) -> float:
        return mover.cruise * mover.factor * self._layout.scale_at(mover.y) / self._config.fps

    def _in_view(self, mover: Mover) -> bool:
        w, h = self._layout.width, self._layout.height
        return 0.1 * w < mover.x < 0.9 * w and mover.y < h

    def _control(self, mover: Mover) -> None:
        dyn, rng, fps = _DYNAMICS[mover.class_id], self._rng, self._config.fps
        if rng.random() < dyn.change_rate / fps:
            mover.target = float(rng.uniform(0.55, 1.4))
        if mover.stop_frames > 0:
            mover.stop_frames -= 1
        elif self._in_view(mover) and rng.random() < dyn.stop_rate / fps:
            mover.stop_frames = round(float(rng.uniform(*dyn.stop_s)) * fps)
        goal = 0.0 if mover.stop_frames > 0 else mover.target
        if mover.lane is not None:
            goal = min(goal, self._follow_limit(mover))
        step = dyn.accel / fps
        mover.factor += float(np.clip(goal - mover.factor, -2 * step, step))

    def _length_px(self, mover: Mover) -> float:
        return MODEL_SIZE[mover.class_id][0] * mover.look.size * self._layout.scale_at(mover.y)

    def _leader(self, mover: Mover, lane: Lane) -> tuple[float, Mover | None]:
        """The nearest vehicle ahead in ``lane`` and the gap to it in pixels."""
        best, leader = math.inf, None
        for other in self.movers:
            ahead = lane.direction * (other.x - mover.x)
            if other is mover or other.lane != lane or ahead <= 0:
                continue
            gap = ahead - 0.5 * (self._length_px(other) + self._length_px(mover))
            if gap < best:
                best, leader = gap, other
        return best, leader

    def _follow_limit(self, mover: Mover) -> float:
        assert mover.lane is not None
        gap, leader = self._leader(mover, mover.lane)
        length = self._length_px(mover)
        if leader is None or gap > 1.5 * length:
            return math.inf
        if gap < 0.35 * length:
            return 0.0
        return leader.factor * leader.cruise / mover.cruise

    # --- movement ------------------------------------------------------------------------

    def _move(self, mover: Mover, distance: float) -> None:
        left = distance
        while mover.path and left > 0:
            tx, ty = mover.path[0]
            dx, dy = tx - mover.x, ty - mover.y
            dist = math.hypot(dx, dy)
            if abs(dx) > 0.3 * abs(dy) and mover.lane is None:
                mover.facing = 1 if dx > 0 else -1
            if dist <= left:
                mover.x, mover.y = tx, ty
                mover.path.pop(0)
                left -= dist
            else:
                mover.x += dx / dist * left
                mover.y += dy / dist * left
                left = 0.0
        height = MODEL_SIZE[mover.class_id][1] * mover.look.size * self._layout.scale_at(mover.y)
        mover.phase = (mover.phase + 2 * math.pi * distance / (0.8 * height)) % (2 * math.pi)

    # --- spawning ------------------------------------------------------------------------

    def _spawn(self, progress: float) -> None:
        rng = self._rng
        class_id = int(rng.choice(len(self._mix), p=self._mix))
        look = make_look(class_id, rng)
        lo, hi = _DYNAMICS[class_id].cruise
        lane: Lane | None = None
        if class_id == CAR or (class_id == BICYCLE and rng.random() < 0.7):
            lanes = self._layout.car_lanes if class_id == CAR else self._layout.bike_lanes
            lane = lanes[int(rng.integers(len(lanes)))]
            points = self._lane_path(lane, look)
        elif class_id == PERSON:
            points = self._person_path(look)
        else:
            points = self._wander_path(look)
        mover = Mover(
            self._next_id,
            look,
            *points[0],
            list(points[1:]),
            lane,
            float(rng.uniform(lo, hi)),
            phase=float(rng.uniform(0, 2 * math.pi)),
        )
        mover.facing = lane.direction if lane else (1 if points[1][0] >= points[0][0] else -1)
        total = sum(math.dist(a, b) for a, b in itertools.pairwise(points))
        self._move(mover, progress * total)
        if lane is not None and self._clearance(mover, lane) < 0.5 * self._length_px(mover):
            return
        self._next_id += 1
        self.movers.append(mover)

    def _clearance(self, mover: Mover, lane: Lane) -> float:
        """Smallest bumper-to-bumper distance from ``mover`` to a vehicle in ``lane``."""
        return min(
            (
                abs(o.x - mover.x) - 0.5 * (self._length_px(o) + self._length_px(mover))
                for o in self.movers
                if o.lane == lane
            ),
            default=math.inf,
        )

    def _outside_x(self, look: Look, y: float, side: int) -> float:
        half = 0.5 * MODEL_SIZE[look.class_id][0] * look.size * self._layout.scale_at(y) + 4
        return -half if side < 0 else self._layout.width + half

    def _outside_bottom(self, look: Look) -> float:
        h = self._layout.height
        return h + 1.3 * MODEL_SIZE[look.class_id][1] * look.size * self._layout.scale_at(h) + 4

    def _lane_path(self, lane: Lane, look: Look) -> list[Point]:
        y = lane.y + (float(self._rng.uniform(-2.0, 2.0)) if lane.class_id == BICYCLE else 0.0)
        return [
            (self._outside_x(look, y, -lane.direction), y),
            (self._outside_x(look, y, lane.direction), y),
        ]

    def _border_point(self, look: Look, side: int) -> Point:
        """A point just outside border ``side`` (0 left, 1 right, 2 bottom)."""
        lay, rng = self._layout, self._rng
        if side == 2:
            return (float(rng.uniform(0.05, 0.95) * lay.width), self._outside_bottom(look))
        y = float(rng.uniform(lay.ground_top + 0.1 * (lay.height - lay.ground_top), lay.height))
        return (self._outside_x(look, y, -1 if side == 0 else 1), y)

    def _wander_path(self, look: Look) -> list[Point]:
        lay, rng = self._layout, self._rng
        entry = int(rng.choice(3, p=(0.4, 0.4, 0.2)))
        exit_side = int(rng.choice([s for s in range(3) if s != entry]))
        y_lo = lay.ground_top + 0.15 * (lay.height - lay.ground_top)
        middle = [
            (
                float(rng.uniform(0.15, 0.85) * lay.width),
                float(rng.uniform(y_lo, 0.95 * lay.height)),
            )
            for _ in range(int(rng.integers(1, 3)))
        ]
        return [self._border_point(look, entry), *middle, self._border_point(look, exit_side)]

    def _person_path(self, look: Look) -> list[Point]:
        lay, rng = self._layout, self._rng
        mode = int(rng.choice(3, p=(0.35, 0.3, 0.35)))
        if mode == 0 or (mode == 1 and lay.crosswalk_x is None):
            band = lay.sidewalks[int(rng.integers(len(lay.sidewalks)))]
            y = float(rng.uniform(band.top + 0.25 * band.height, band.bottom))
            side = int(rng.choice((-1, 1)))
            y_end = y + float(rng.uniform(-0.2, 0.2) * band.height)
            return [
                (self._outside_x(look, y, side), y),
                (self._outside_x(look, y_end, -side), y_end),
            ]
        if mode == 1 and lay.crosswalk_x is not None:
            far, near = lay.sidewalks
            x = lay.crosswalk_x + float(rng.uniform(-12, 12))
            y_far = far.top + 0.6 * far.height
            side = int(rng.choice((-1, 1)))
            up = [
                (x, self._outside_bottom(look)),
                (x, near.bottom - 2),
                (x, y_far),
                (self._outside_x(look, y_far, side), y_far),
            ]
            return up if rng.random() < 0.5 else up[::-1]
        return self._wander_path(look)
