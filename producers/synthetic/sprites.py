"""Object appearance and drawing: people, cars and bicycles as masked sprites.

A sprite is drawn with cv2 primitives on a small canvas around one object. Its mask is
drawn with the same primitives, so the mask is exactly the set of pixels the object paints.
Coordinates are pixels; a sprite's ``x0, y0`` place its canvas in neutral image coordinates
(before camera jitter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from producers.synthetic.config import CAR, PERSON

__all__ = ["MODEL_SIZE", "Look", "Painter", "Pose", "Sprite", "draw_object", "make_look"]

BGR = tuple[int, int, int]
Point = tuple[float, float]

#: (width, height) per class id in model units at size 1 (a unit is a pixel at scale 1).
MODEL_SIZE: Final[tuple[tuple[float, float], ...]] = ((34.0, 70.0), (110.0, 46.0), (72.0, 76.0))

_SHIFT: Final = 3
_ONE: Final = 1 << _SHIFT
_PAD: Final = 3

_SHIRTS: Final[tuple[BGR, ...]] = (
    (60, 60, 160),
    (150, 90, 40),
    (50, 50, 50),
    (200, 200, 200),
    (40, 120, 40),
    (120, 60, 110),
    (70, 150, 200),
    (110, 110, 110),
)
_TROUSERS: Final[tuple[BGR, ...]] = (
    (90, 50, 30),
    (35, 35, 35),
    (100, 100, 100),
    (120, 160, 170),
    (40, 60, 80),
)
_SKIN: Final[tuple[BGR, ...]] = ((150, 180, 225), (110, 150, 200), (70, 100, 150), (60, 80, 110))
_HAIR: Final[tuple[BGR, ...]] = ((20, 20, 25), (30, 50, 80), (90, 160, 200), (160, 160, 160))
_CAR_BODY: Final[tuple[BGR, ...]] = (
    (235, 235, 235),
    (185, 185, 180),
    (110, 110, 110),
    (30, 30, 30),
    (120, 50, 20),
    (40, 40, 170),
    (40, 80, 40),
    (150, 190, 210),
)
_BIKE_FRAME: Final[tuple[BGR, ...]] = ((40, 40, 40), (30, 30, 180), (160, 80, 20), (200, 200, 200))


@dataclass(frozen=True, slots=True)
class Look:
    """Appearance of one object; colours are BGR.

    primary: shirt (person), body (car), frame (bicycle). secondary: trousers, windows,
    rider's shirt. tertiary: hair, trim, rider's trousers. variant: body style or hair style.
    """

    class_id: int
    size: float
    primary: BGR
    secondary: BGR
    tertiary: BGR
    skin: BGR
    variant: int


@dataclass(frozen=True, slots=True)
class Pose:
    """Where and how an object is drawn: foot point (bottom centre) in pixels."""

    x: float
    y: float
    scale: float
    facing: int
    phase: float
    stride: float


@dataclass(frozen=True, slots=True)
class Sprite:
    """A drawn object: ``mask`` (h, w) bool, ``colour`` (h, w, 3) uint8 BGR or None.

    ``x0, y0`` is the top-left pixel of the canvas; ``box`` is the tight xyxy box of the mask
    in the same coordinates; ``area`` the number of mask pixels; ``depth`` the foot y.
    """

    x0: int
    y0: int
    mask: npt.NDArray[np.bool_]
    colour: npt.NDArray[np.uint8] | None
    box: tuple[int, int, int, int]
    area: int
    depth: float


def _pick(rng: np.random.Generator, palette: tuple[BGR, ...], spread: int) -> BGR:
    base = palette[int(rng.integers(len(palette)))]
    jitter = rng.integers(-spread, spread + 1, size=3)
    b, g, r = (int(np.clip(c + j, 0, 255)) for c, j in zip(base, jitter, strict=True))
    return (b, g, r)


def make_look(class_id: int, rng: np.random.Generator) -> Look:
    """A random look from the class's small palettes, so that objects of a class look alike."""
    size = float(np.clip(rng.normal(1.0, 0.07), 0.85, 1.15))
    skin = _pick(rng, _SKIN, 8)
    if class_id == PERSON:
        colours = (_pick(rng, _SHIRTS, 18), _pick(rng, _TROUSERS, 12), _pick(rng, _HAIR, 10))
    elif class_id == CAR:
        colours = (
            _pick(rng, _CAR_BODY, 12),
            _pick(rng, ((70, 50, 40), (90, 80, 60)), 10),
            _pick(rng, ((25, 25, 25), (60, 60, 60)), 5),
        )
    else:
        colours = (_pick(rng, _BIKE_FRAME, 15), _pick(rng, _SHIRTS, 18), _pick(rng, _TROUSERS, 12))
    return Look(class_id, size, *colours, skin=skin, variant=int(rng.integers(3)))


class Painter:
    """Draws each primitive on a colour canvas (optional) and on the mask alike."""

    def __init__(self, width: int, height: int, facing: int, with_colour: bool) -> None:
        self.width = width
        self.mask = np.zeros((height, width), np.uint8)
        self.image = np.zeros((height, width, 3), np.uint8) if with_colour else None
        self.mirror = facing < 0

    def _p(self, p: Point) -> tuple[int, int]:
        x = self.width - 1 - p[0] if self.mirror else p[0]
        return round(x * _ONE), round(p[1] * _ONE)

    def circle(self, c: Point, r: float, colour: BGR, thickness: int = -1) -> None:
        rr = max(1, round(r * _ONE))
        if self.image is not None:
            cv2.circle(self.image, self._p(c), rr, colour, thickness, cv2.LINE_8, _SHIFT)
        cv2.circle(self.mask, self._p(c), rr, 255, thickness, cv2.LINE_8, _SHIFT)

    def line(self, p: Point, q: Point, colour: BGR, thickness: float) -> None:
        t = max(1, round(thickness))
        if self.image is not None:
            cv2.line(self.image, self._p(p), self._p(q), colour, t, cv2.LINE_8, _SHIFT)
        cv2.line(self.mask, self._p(p), self._p(q), 255, t, cv2.LINE_8, _SHIFT)

    def poly(self, points: list[Point], colour: BGR) -> None:
        pts = np.array([self._p(p) for p in points], np.int32).reshape(-1, 1, 2)
        if self.image is not None:
            cv2.fillPoly(self.image, [pts], colour, cv2.LINE_8, _SHIFT)
        cv2.fillPoly(self.mask, [pts], 255, cv2.LINE_8, _SHIFT)

    def sprite(self, x0: int, y0: int, depth: float) -> Sprite | None:
        """The drawing as a sprite whose canvas starts at ``(x0, y0)``; None if empty."""
        mask = self.mask > 0
        area = int(np.count_nonzero(mask))
        if area == 0:
            return None
        bx, by, bw, bh = cv2.boundingRect(self.mask)
        box = (x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh)
        return Sprite(x0, y0, mask, self.image, box, area, depth)


def _person(pt: Painter, look: Look, foot: Point, h: float, pose: Pose) -> None:
    fx, fy = foot
    swing = 0.38 * math.sin(pose.phase) * pose.stride
    hip = (fx, fy - 0.47 * h)
    for sign in (1.0, -1.0):
        a = sign * swing
        toe = (hip[0] + 0.44 * h * math.sin(a), hip[1] + 0.44 * h * math.cos(a))
        pt.line(hip, toe, look.secondary, 0.09 * h)
        pt.circle((toe[0] + 0.02 * h, toe[1] - 0.01 * h), 0.035 * h, (25, 25, 25))
    sh = fy - 0.80 * h
    pt.poly(
        [
            (fx - 0.12 * h, sh),
            (fx + 0.12 * h, sh),
            (fx + 0.1 * h, hip[1] + 0.02 * h),
            (fx - 0.1 * h, hip[1] + 0.02 * h),
        ],
        look.primary,
    )
    for sign in (1.0, -1.0):
        a = -sign * swing * 0.8
        s = (fx + sign * 0.12 * h, sh + 0.02 * h)
        hand = (s[0] + 0.3 * h * math.sin(a) + sign * 0.02 * h, s[1] + 0.3 * h * math.cos(a))
        pt.line(s, hand, look.primary, 0.06 * h)
        pt.circle(hand, 0.03 * h, look.skin)
    head = (fx, fy - 0.895 * h)
    pt.circle(head, 0.075 * h, look.skin)
    hair_r = 0.08 * h if look.variant else 0.065 * h
    pt.circle((head[0] - 0.01 * h, head[1] - 0.03 * h), hair_r, look.tertiary)
    pt.circle((head[0] + 0.01 * h, head[1] + 0.015 * h), 0.055 * h, look.skin)


def _car(pt: Painter, look: Look, x0: float, fy: float, length: float) -> None:
    h = length * MODEL_SIZE[CAR][1] / MODEL_SIZE[CAR][0]
    top = fy - h

    def at(u: float, v: float) -> Point:
        return (x0 + u * length, top + v * h)

    roof = {
        0: ((0.22, 0.4), (0.34, 0.04), (0.66, 0.04), (0.8, 0.4)),
        1: ((0.06, 0.4), (0.1, 0.05), (0.6, 0.05), (0.78, 0.4)),
        2: ((0.03, 0.4), (0.05, 0.0), (0.72, 0.0), (0.86, 0.4)),
    }[look.variant]
    pt.poly([at(u, v) for u, v in roof], look.primary)
    pt.poly(
        [at(0.0, 0.5), at(0.04, 0.37), at(0.94, 0.36), at(1.0, 0.5), at(1.0, 0.8), at(0.0, 0.82)],
        look.primary,
    )
    (u0, _), (u1, _), (u2, _), (u3, _) = roof
    pt.poly(
        [at(u0 + 0.04, 0.38), at(u1 + 0.03, 0.1), at(u2 - 0.02, 0.1), at(u3 - 0.05, 0.38)],
        look.secondary,
    )
    pt.line(at((u1 + u2) / 2, 0.08), at((u0 + u3) / 2, 0.4), look.primary, 0.03 * length)
    pt.line(at(0.03, 0.6), at(0.97, 0.6), look.tertiary, 0.012 * length)
    pt.poly([at(0.95, 0.45), at(1.0, 0.47), at(1.0, 0.56), at(0.95, 0.56)], (170, 235, 250))
    pt.poly([at(0.0, 0.47), at(0.03, 0.47), at(0.03, 0.57), at(0.0, 0.57)], (30, 30, 200))
    r = 0.19 * h
    for u in (0.2, 0.8):
        c = (x0 + u * length, fy - r - 0.5)
        pt.circle(c, r, (20, 20, 20))
        pt.circle(c, 0.5 * r, (150, 150, 150))


def _bicycle(pt: Painter, look: Look, corner: Point, h: float, pose: Pose) -> None:
    x0, fy = corner
    r = 0.19 * h
    rear, front = (x0 + r + 1, fy - r - 0.5), (x0 + 0.95 * h - r - 1, fy - r - 0.5)
    span = front[0] - rear[0]
    crank = (rear[0] + 0.45 * span, rear[1] - 0.02 * h)
    seat = (rear[0] + 0.3 * span, fy - 0.53 * h)
    head_tube = (rear[0] + 0.85 * span, fy - 0.5 * h)
    bar = (head_tube[0] - 0.02 * h, head_tube[1] - 0.08 * h)
    for c in (rear, front):
        pt.circle(c, r, (25, 25, 25), max(1, round(0.035 * h)))
    for p, q in (
        (rear, crank),
        (rear, seat),
        (crank, seat),
        (seat, head_tube),
        (crank, head_tube),
        (head_tube, front),
        (head_tube, bar),
    ):
        pt.line(p, q, look.primary, 0.03 * h)
    shoulder = (seat[0] + 0.2 * span, seat[1] - 0.27 * h)
    for sign in (1.0, -1.0):
        ang = pose.phase + (0.0 if sign > 0 else math.pi)
        pedal = (crank[0] + 0.09 * h * math.cos(ang), crank[1] + 0.09 * h * math.sin(ang))
        knee = ((seat[0] + pedal[0]) / 2 + 0.1 * h, (seat[1] + pedal[1]) / 2 - 0.06 * h)
        pt.line(seat, knee, look.tertiary, 0.065 * h)
        pt.line(knee, pedal, look.tertiary, 0.055 * h)
    pt.line((seat[0], seat[1] - 0.02 * h), shoulder, look.secondary, 0.12 * h)
    pt.line(shoulder, bar, look.secondary, 0.045 * h)
    head = (shoulder[0] + 0.05 * h, shoulder[1] - 0.1 * h)
    pt.circle(head, 0.07 * h, look.skin)
    pt.circle((head[0] - 0.01 * h, head[1] - 0.025 * h), 0.065 * h, look.tertiary)


def draw_object(look: Look, pose: Pose, *, with_colour: bool = True) -> Sprite | None:
    """Draw ``look`` with its foot point at ``(pose.x, pose.y)``; None if nothing is drawn."""
    mw, mh = MODEL_SIZE[look.class_id]
    k = look.size * pose.scale
    w, h = mw * k, mh * k
    x0, y0 = math.floor(pose.x - w / 2) - _PAD, math.floor(pose.y - h) - _PAD
    cw, ch = math.ceil(w) + 2 * _PAD + 1, math.ceil(h) + 2 * _PAD + 1
    pt = Painter(cw, ch, pose.facing, with_colour)
    lx, fy = pose.x - w / 2 - x0, pose.y - y0 - 0.5
    if pose.facing < 0:
        lx = cw - 1 - (lx + w)
    if not 0 <= look.class_id < len(MODEL_SIZE):
        raise ValueError(f"unknown class id {look.class_id}")
    if look.class_id == PERSON:
        _person(pt, look, (lx + w / 2, fy), h, pose)
    elif look.class_id == CAR:
        _car(pt, look, lx, fy, w)
    else:
        _bicycle(pt, look, (lx, fy), h, pose)
    return pt.sprite(x0, y0, pose.y)
