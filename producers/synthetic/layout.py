"""The geometry of a scene: horizon, perspective, roads, lanes, sidewalks and occluders.

All positions are pixels in neutral image coordinates (before camera jitter); a lane or an
object is placed by its foot y (the image row where it touches the ground). Objects farther
away (smaller foot y) are drawn smaller: ``scale_at(y)`` is the pixels per model unit there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np

from producers.synthetic.config import BICYCLE, CAR, SceneConfig

__all__ = ["Band", "Lane", "OccluderKind", "OccluderSpec", "Road", "SceneLayout", "make_layout"]

OccluderKind = Literal["pole", "tree", "sign", "hedge"]
_KINDS: Final[tuple[OccluderKind, ...]] = ("pole", "tree", "sign", "hedge")
_KIND_WEIGHTS: Final = (0.35, 0.3, 0.2, 0.15)


@dataclass(frozen=True, slots=True)
class Band:
    """A horizontal strip of ground between rows ``top`` and ``bottom`` (pixels)."""

    top: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True, slots=True)
class Lane:
    """A horizontal lane: foot row ``y``, ``direction`` +1 (to the right) or -1, its class."""

    y: float
    direction: int
    class_id: int


@dataclass(frozen=True, slots=True)
class Road:
    band: Band
    lanes: tuple[Lane, ...]


@dataclass(frozen=True, slots=True)
class OccluderSpec:
    """A static occluder standing at foot point ``(x, y)``, drawn at ``scale``."""

    kind: OccluderKind
    x: float
    y: float
    scale: float


@dataclass(frozen=True, slots=True)
class SceneLayout:
    width: int
    height: int
    horizon: float
    far_scale: float
    near_scale: float
    roads: tuple[Road, ...]
    sidewalks: tuple[Band, ...]
    bike_lanes: tuple[Lane, ...]
    crosswalk_x: float | None
    occluders: tuple[OccluderSpec, ...]

    def scale_at(self, y: float) -> float:
        """Pixels per model unit for an object whose foot is on row ``y``."""
        t = (y - self.horizon) / (self.height - self.horizon)
        return self.far_scale + (self.near_scale - self.far_scale) * min(max(t, 0.0), 1.25)

    @property
    def ground_top(self) -> float:
        """The smallest foot row objects use (objects higher up would be tiny)."""
        return self.horizon + 0.1 * (self.height - self.horizon)

    @property
    def main_road(self) -> Road:
        return self.roads[0]

    @property
    def car_lanes(self) -> tuple[Lane, ...]:
        return tuple(lane for road in self.roads for lane in road.lanes)


def _road(layout_top: float, height: float, lanes: int, rng: np.random.Generator) -> Road:
    first = int(rng.choice((-1, 1)))
    rows = (0.85,) if lanes == 1 else (0.38, 0.88)
    band = Band(layout_top, layout_top + height)
    return Road(
        band,
        tuple(Lane(band.top + f * height, first * (-1) ** i, CAR) for i, f in enumerate(rows)),
    )


def _occluders(
    config: SceneConfig, base: SceneLayout, rng: np.random.Generator
) -> tuple[OccluderSpec, ...]:
    w, h = config.width, config.height
    near = base.sidewalks[-1]
    spots = (
        (near.top + 0.3 * near.height, near.bottom),
        (base.sidewalks[0].top + 2, base.sidewalks[0].bottom),
        (near.bottom + 8, 0.98 * h),
    )
    out: list[OccluderSpec] = []
    for _ in range(config.occluders):
        kind = _KINDS[int(rng.choice(len(_KINDS), p=_KIND_WEIGHTS))]
        for _attempt in range(8):
            x = float(rng.uniform(0.04, 0.96) * w)
            if all(abs(x - o.x) > 0.1 * w for o in out):
                break
        if kind == "hedge":
            y = float(rng.uniform(0.95, 1.03) * h)
        else:
            lo, hi = spots[int(rng.choice(3, p=(0.45, 0.25, 0.3)))]
            y = float(rng.uniform(lo, max(lo + 1, hi)))
        out.append(OccluderSpec(kind, x, y, base.scale_at(y) * float(rng.uniform(0.9, 1.1))))
    return tuple(out)


def make_layout(config: SceneConfig, rng: np.random.Generator) -> SceneLayout:
    """A random layout: one main road with two lanes, sidewalks, maybe a far road."""
    h, w = config.height, config.width
    horizon = float(rng.uniform(0.17, 0.27) * h)
    base = SceneLayout(
        w,
        h,
        horizon,
        config.unit * float(rng.uniform(0.42, 0.5)),
        config.unit * float(rng.uniform(1.15, 1.35)),
        (),
        (),
        (),
        None,
        (),
    )
    ground = h - horizon
    top = horizon + ground * float(rng.uniform(0.45, 0.6))
    main = _road(top, 48.0 * base.scale_at(top), 2, rng)
    far_walk = Band(top - 26.0 * base.scale_at(top), top)
    near_walk = Band(main.band.bottom, main.band.bottom + 30.0 * base.scale_at(main.band.bottom))
    roads = [main]
    if rng.random() < 0.5:
        top2 = horizon + ground * float(rng.uniform(0.1, 0.16))
        roads.append(_road(top2, 40.0 * base.scale_at(top2), int(rng.integers(1, 3)), rng))
    dirs = (main.lanes[0].direction, main.lanes[1].direction)
    bikes = (
        Lane(main.band.top + 0.06 * main.band.height, dirs[0], BICYCLE),
        Lane(near_walk.top + 0.35 * near_walk.height, dirs[1], BICYCLE),
    )
    crosswalk = float(rng.uniform(0.25, 0.75) * w) if rng.random() < 0.7 else None
    layout = replace(
        base,
        roads=tuple(roads),
        sidewalks=(far_walk, near_walk),
        bike_lanes=bikes,
        crosswalk_x=crosswalk,
    )
    return replace(layout, occluders=_occluders(config, layout, rng))
