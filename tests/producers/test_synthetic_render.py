"""composite(): visibility is exact on hand-made masks (border, depth order, occluders)."""

from __future__ import annotations

import numpy as np
import pytest

from producers.synthetic.render import composite
from producers.synthetic.sprites import Sprite


def _square(x0: int, y0: int, side: int, depth: float, value: int = 200) -> Sprite:
    mask = np.ones((side, side), bool)
    colour = np.full((side, side, 3), value, np.uint8)
    return Sprite(x0, y0, mask, colour, (x0, y0, x0 + side, y0 + side), side * side, depth)


SIZE = (100, 80)


@pytest.mark.parametrize(
    ("x0", "y0", "expected"),
    [(10, 10, 1.0), (-5, 10, 0.5), (95, 10, 0.5), (10, 75, 0.5), (-5, -5, 0.25), (200, 10, 0.0)],
)
def test_visibility_counts_the_frame_border(x0: int, y0: int, expected: float) -> None:
    assert composite([_square(x0, y0, 10, 50.0)], [], (0, 0), SIZE) == [pytest.approx(expected)]


def test_nearer_object_hides_the_farther_one_whatever_the_input_order() -> None:
    far, near = _square(10, 10, 10, 30.0, 100), _square(15, 10, 10, 60.0, 250)
    canvas = np.zeros((80, 100, 3), np.uint8)
    assert composite([near, far], [], (0, 0), SIZE, canvas) == [1.0, 0.5]
    assert canvas[12, 12, 0] == 100
    assert canvas[12, 16, 0] == 250


def test_occluders_hide_only_objects_behind_them() -> None:
    occluder = _square(10, 10, 5, 50.0)
    behind, in_front = _square(10, 10, 10, 40.0), _square(10, 30, 10, 60.0)
    moved = Sprite(10, 30, occluder.mask, None, occluder.box, occluder.area, 50.0)
    assert composite([behind], [occluder], (0, 0), SIZE) == [0.75]
    assert composite([in_front], [moved], (0, 0), SIZE) == [1.0]


def test_camera_shift_moves_sprites_and_occluders_together() -> None:
    sprite, occluder = _square(0, 10, 10, 40.0), _square(0, 10, 5, 50.0)
    canvas = np.zeros((80, 100, 3), np.uint8)
    assert composite([sprite], [occluder], (-3, 2), SIZE, canvas) == [0.75]
    assert canvas[8, 3].tolist() == [0, 0, 0]  # under the occluder at (3..8, 8..13)
    assert canvas[17, 12].tolist() == [200, 200, 200]
