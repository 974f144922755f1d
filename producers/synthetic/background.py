"""The static part of a scene: sky, buildings, textured ground, roads, sidewalks, occluders.

The background is drawn once per scene on a canvas ``margin`` pixels larger than the frame on
every side, so that camera jitter can crop it. It is (H + 2m, W + 2m, 3) uint8 BGR; neutral
image pixel (x, y) lies at canvas pixel (x + m, y + m). Occluders are baked into it and are
also returned as sprites (neutral image coordinates) so objects behind them can be masked.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from producers.synthetic.layout import Band, OccluderSpec, Road, SceneLayout
from producers.synthetic.sprites import Painter, Sprite

__all__ = ["render_background"]

Image = npt.NDArray[np.uint8]
_GROUNDS = ((70, 125, 85), (80, 120, 150), (140, 140, 135), (95, 100, 100))  # BGR
_TILES = ((185, 185, 180), (150, 175, 200), (90, 100, 160), (160, 160, 150))


def _colour(rng: np.random.Generator, base: tuple[int, ...], spread: int) -> tuple[int, int, int]:
    b, g, r = (int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)
    return (b, g, r)


def _sky_and_buildings(img: Image, top: int, rng: np.random.Generator) -> None:
    hi, lo = _colour(rng, (200, 170, 140), 30), _colour(rng, (225, 215, 205), 20)
    t = np.linspace(0.0, 1.0, top, dtype=np.float32)[:, None, None]
    img[:top] = (np.array(hi, np.float32) * (1 - t) + np.array(lo, np.float32) * t).astype(np.uint8)
    x, w = -10, img.shape[1]
    while x < w:
        bw, bh = int(rng.integers(40, 130)), int(rng.uniform(0.3, 1.0) * top)
        wall = _colour(rng, (120, 130, 140), 45)
        cv2.rectangle(img, (x, top - bh), (x + bw, top), wall, -1)
        lit = _colour(rng, (120, 200, 230), 20)
        for wy in range(top - bh + 6, top - 8, 12):
            for wx in range(x + 5, x + bw - 8, 11):
                if rng.random() < 0.8:
                    shade = lit if rng.random() < 0.3 else (60, 60, 60)
                    cv2.rectangle(img, (wx, wy), (wx + 5, wy + 6), shade, -1)
        x += bw + int(rng.integers(0, 12))


def _ground(img: Image, top: int, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    rows = h - top
    base = np.array(_colour(rng, _GROUNDS[int(rng.integers(len(_GROUNDS)))], 15), np.float32)
    light = np.linspace(0.78, 1.05, rows, dtype=np.float32)[:, None, None]
    cells = int(rng.integers(12, 30))
    coarse = rng.standard_normal((rows // cells + 2, w // cells + 2)).astype(np.float32)
    blobs = cv2.resize(coarse, (w, rows), interpolation=cv2.INTER_CUBIC)[:, :, None]
    ground = base * light + float(rng.uniform(6, 16)) * blobs
    img[top:] = np.clip(ground, 0, 255).astype(np.uint8)


def _road(img: Image, road: Road, m: int, scale: float, rng: np.random.Generator) -> None:
    w = img.shape[1]
    top, bottom = round(road.band.top) + m, round(road.band.bottom) + m
    grey = int(rng.integers(50, 95))
    img[top:bottom] = (grey, grey + int(rng.integers(-4, 5)), grey + int(rng.integers(-4, 5)))
    edge = max(1, round(2 * scale))
    for y in (top + edge, bottom - edge):
        cv2.line(img, (0, y), (w, y), (200, 200, 200), edge)
    if len(road.lanes) == 2:
        paint = (60, 200, 230) if rng.random() < 0.5 else (230, 230, 230)
        y = round((road.lanes[0].y + road.lanes[1].y) / 2 - 0.25 * road.band.height) + m
        dash, gap = 24 * scale, 20 * scale
        x = -float(rng.uniform(0, dash + gap))
        while x < w:
            cv2.line(img, (round(x), y), (round(x + dash), y), paint, edge)
            x += dash + gap


def _sidewalk(img: Image, band: Band, m: int, scale: float, rng: np.random.Generator) -> None:
    w = img.shape[1]
    base = _colour(rng, _TILES[int(rng.integers(len(_TILES)))], 12)
    tile = float(rng.uniform(16, 30)) * scale
    rows = max(1, round(band.height / (0.45 * tile)))
    edges = np.linspace(band.top + m, band.bottom + m, rows + 1)
    for r in range(rows):
        y0, y1 = round(edges[r]), round(edges[r + 1])
        x = -float(rng.uniform(0, tile))
        while x < w:
            cv2.rectangle(img, (round(x), y0), (round(x + tile), y1), _colour(rng, base, 10), -1)
            cv2.rectangle(img, (round(x), y0), (round(x + tile), y1), (90, 90, 90), 1)
            x += tile


def _crosswalk(img: Image, layout: SceneLayout, m: int) -> None:
    if layout.crosswalk_x is None:
        return
    band = layout.main_road.band
    s = layout.scale_at(band.bottom)
    x0, x1 = round(layout.crosswalk_x - 22 * s) + m, round(layout.crosswalk_x + 22 * s) + m
    bars = 5
    pitch = band.height / bars
    for i in range(bars):
        y = band.top + m + i * pitch + 0.2 * pitch
        cv2.rectangle(img, (x0, round(y)), (x1, round(y + 0.55 * pitch)), (225, 225, 225), -1)


def _occluder(spec: OccluderSpec, rng: np.random.Generator) -> Sprite | None:
    s = spec.scale
    half_w = {"pole": 30.0, "tree": 60.0, "sign": 22.0, "hedge": 120.0}[spec.kind] * s
    height = {"pole": 200.0, "tree": 180.0, "sign": 140.0, "hedge": 50.0}[spec.kind] * s
    x0, y0 = math.floor(spec.x - half_w) - 2, math.floor(spec.y - height) - 2
    pt = Painter(math.ceil(2 * half_w) + 5, math.ceil(height) + 5, 1, True)
    fx, fy = spec.x - x0, spec.y - y0 - 0.5
    if spec.kind == "pole":
        dark = _colour(rng, (70, 75, 70), 20)
        pt.line((fx, fy), (fx, fy - 190 * s), dark, 7 * s)
        pt.line((fx, fy - 188 * s), (fx + 22 * s, fy - 192 * s), dark, 4 * s)
        pt.poly(
            [
                (fx + 16 * s, fy - 194 * s),
                (fx + 29 * s, fy - 194 * s),
                (fx + 27 * s, fy - 186 * s),
                (fx + 18 * s, fy - 186 * s),
            ],
            (200, 230, 240),
        )
    elif spec.kind == "sign":
        pt.line((fx, fy), (fx, fy - 110 * s), (150, 150, 150), 5 * s)
        face = ((40, 40, 200), (160, 90, 20), (40, 120, 40))[int(rng.integers(3))]
        pt.circle((fx, fy - 118 * s), 19 * s, (240, 240, 240))
        pt.circle((fx, fy - 118 * s), 16 * s, face)
    elif spec.kind == "tree":
        pt.line((fx, fy), (fx, fy - 110 * s), _colour(rng, (40, 60, 90), 12), 12 * s)
        for _ in range(7):
            c = (fx + float(rng.uniform(-28, 28)) * s, fy - float(rng.uniform(115, 150)) * s)
            pt.circle(c, float(rng.uniform(20, 30)) * s, _colour(rng, (50, 110, 60), 25))
    else:
        green = _colour(rng, (45, 100, 55), 15)
        pt.poly(
            [
                (fx - 115 * s, fy),
                (fx + 115 * s, fy),
                (fx + 115 * s, fy - 34 * s),
                (fx - 115 * s, fy - 34 * s),
            ],
            green,
        )
        for u in np.linspace(-105, 105, 9):
            pt.circle((fx + float(u) * s, fy - 34 * s), float(rng.uniform(9, 14)) * s, green)
    if pt.image is not None and spec.kind in ("tree", "hedge"):
        grain = rng.normal(0, 14, pt.mask.shape).astype(np.float32)[:, :, None]
        textured = np.clip(pt.image.astype(np.float32) + grain, 0, 255).astype(np.uint8)
        pt.image = np.where(pt.mask[:, :, None] > 0, textured, pt.image)
    return pt.sprite(x0, y0, spec.y)


def _paste(img: Image, sprite: Sprite, m: int) -> None:
    assert sprite.colour is not None
    h, w = img.shape[:2]
    x0, y0 = sprite.x0 + m, sprite.y0 + m
    sh, sw = sprite.mask.shape
    cx0, cy0, cx1, cy1 = max(0, -x0), max(0, -y0), min(sw, w - x0), min(sh, h - y0)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    roi = img[y0 + cy0 : y0 + cy1, x0 + cx0 : x0 + cx1]
    mask = sprite.mask[cy0:cy1, cx0:cx1]
    roi[mask] = sprite.colour[cy0:cy1, cx0:cx1][mask]


def render_background(
    layout: SceneLayout, margin: int, rng: np.random.Generator
) -> tuple[Image, tuple[Sprite, ...]]:
    """The (H + 2m, W + 2m, 3) uint8 BGR background and the occluder sprites, far first."""
    m = margin
    img = np.zeros((layout.height + 2 * m, layout.width + 2 * m, 3), np.uint8)
    top = round(layout.horizon) + m
    _sky_and_buildings(img, top, rng)
    _ground(img, top, rng)
    for band in layout.sidewalks:
        _sidewalk(img, band, m, layout.scale_at(band.bottom), rng)
    for road in layout.roads:
        _road(img, road, m, layout.scale_at(road.band.bottom), rng)
    _crosswalk(img, layout, m)
    left, right = (float(v) for v in rng.uniform(0.85, 1.1, 2))
    ramp = np.linspace(left, right, img.shape[1], dtype=np.float32)[None, :, None]
    grain = rng.normal(0.0, float(rng.uniform(2.5, 6.0)), img.shape[:2]).astype(np.float32)
    img = np.clip(img * ramp + grain[:, :, None], 0, 255).astype(np.uint8)
    occluders = [o for spec in layout.occluders if (o := _occluder(spec, rng)) is not None]
    occluders.sort(key=lambda o: o.depth)
    for sprite in occluders:
        _paste(img, sprite, m)
    return img, tuple(occluders)
