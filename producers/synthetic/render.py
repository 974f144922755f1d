"""Per-frame rendering: painting sprites by depth, visibility from masks, camera effects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from producers.synthetic.config import SceneConfig
from producers.synthetic.sprites import Sprite

__all__ = ["Camera", "composite"]

Image = npt.NDArray[np.uint8]
_NOISE_FIELDS: Final = 3
_NOISE_PAD: Final = 32


def _clip(sprite: Sprite, dx: int, dy: int, w: int, h: int) -> tuple[slice, slice, slice, slice]:
    """(image rows, image cols, sprite rows, sprite cols) of the sprite's part in the frame."""
    x0, y0 = sprite.x0 - dx, sprite.y0 - dy
    sh, sw = sprite.mask.shape
    cx0, cy0 = max(0, -x0), max(0, -y0)
    cx1, cy1 = max(cx0, min(sw, w - x0)), max(cy0, min(sh, h - y0))
    return (
        slice(y0 + cy0, y0 + cy1),
        slice(x0 + cx0, x0 + cx1),
        slice(cy0, cy1),
        slice(cx0, cx1),
    )


def composite(
    sprites: Sequence[Sprite],
    occluders: Sequence[Sprite],
    shift: tuple[int, int],
    size: tuple[int, int],
    canvas: Image | None = None,
) -> list[float]:
    """Paint ``sprites`` far to near and return the visible fraction of each, in input order.

    ``shift`` is the camera offset (dx, dy): a neutral pixel p appears at p - shift.
    ``size`` is (W, H). A sprite is hidden where an occluder standing nearer (larger depth)
    covers it, where a nearer sprite is painted over it, and outside the frame. Visibility is
    visible mask pixels / all mask pixels. ``canvas`` ((H, W, 3) uint8 BGR, painted in place)
    may be None to compute visibility only.
    """
    w, h = size
    dx, dy = shift
    owner = np.zeros((h, w), np.int16)
    order = sorted(range(len(sprites)), key=lambda i: (sprites[i].depth, i))
    regions = [_clip(s, dx, dy, w, h) for s in sprites]
    occ_regions = [_clip(o, dx, dy, w, h) for o in occluders]
    for i in order:
        sprite, (rows, cols, srows, scols) = sprites[i], regions[i]
        if rows.start == rows.stop or cols.start == cols.stop:
            continue
        mask = sprite.mask[srows, scols].copy()
        for occ, (orows, ocols, osr, osc) in zip(occluders, occ_regions, strict=True):
            if occ.depth <= sprite.depth:
                continue
            r0, r1 = max(rows.start, orows.start), min(rows.stop, orows.stop)
            c0, c1 = max(cols.start, ocols.start), min(cols.stop, ocols.stop)
            if r0 >= r1 or c0 >= c1:
                continue
            omask = occ.mask[
                osr.start + r0 - orows.start : osr.start + r1 - orows.start,
                osc.start + c0 - ocols.start : osc.start + c1 - ocols.start,
            ]
            mask[r0 - rows.start : r1 - rows.start, c0 - cols.start : c1 - cols.start] &= ~omask
        owner[rows, cols][mask] = i + 1
        if canvas is not None and sprite.colour is not None:
            canvas[rows, cols][mask] = sprite.colour[srows, scols][mask]
    return [
        float(np.count_nonzero(owner[r[0], r[1]] == i + 1)) / s.area
        for i, (s, r) in enumerate(zip(sprites, regions, strict=True))
    ]


@dataclass(frozen=True, slots=True)
class Camera:
    """Per-frame camera effects, drawn up front so that any frame can be rendered alone.

    shifts: (N, 2) int jitter (dx, dy) per frame. gains: (N,) brightness factors.
    picks: (N, 3) int (noise field, row offset, column offset). noise: (K, H + P, W + P, 3)
    int16 fields of Gaussian noise, or None when ``noise_sigma`` is 0.
    """

    shifts: npt.NDArray[np.int64]
    gains: npt.NDArray[np.float64]
    picks: npt.NDArray[np.int64]
    noise: npt.NDArray[np.int16] | None

    @classmethod
    def make(cls, config: SceneConfig, rng: np.random.Generator) -> Camera:
        n, j = config.num_frames, config.jitter_px
        shifts = rng.integers(-j, j + 1, size=(n, 2))
        t = np.arange(n) / config.fps
        wave = np.sin(2 * np.pi * t / rng.uniform(1.5, 6.0) + rng.uniform(0, 2 * np.pi))
        gains = 1.0 + config.flicker * (0.5 * wave + 0.5 * rng.uniform(-1, 1, n))
        picks = np.stack(
            [rng.integers(0, _NOISE_FIELDS, n), *rng.integers(0, _NOISE_PAD, (2, n))], axis=1
        )
        noise = None
        if config.noise_sigma > 0:
            shape = (_NOISE_FIELDS, config.height + _NOISE_PAD, config.width + _NOISE_PAD, 3)
            field = rng.standard_normal(shape, dtype=np.float32) * np.float32(config.noise_sigma)
            noise = np.rint(field).astype(np.int16)
        return cls(shifts, gains, picks, noise)

    def apply(self, image: Image, index: int) -> Image:
        """Flicker and sensor noise on a (H, W, 3) uint8 BGR frame; returns a new frame."""
        out = cv2.convertScaleAbs(image, alpha=float(self.gains[index]))
        if self.noise is None:
            return np.asarray(out, np.uint8)
        h, w = image.shape[:2]
        k, oy, ox = (int(v) for v in self.picks[index])
        return np.asarray(cv2.add(out, self.noise[k, oy : oy + h, ox : ox + w], dtype=cv2.CV_8U))
