"""Geometry conventions: signs in image coordinates, inclusive intersections, edges inside."""

from __future__ import annotations

import pytest

from processors.analytics.geometry import (
    anchor_point,
    point_in_polygon,
    polygon_area,
    segments_intersect,
    signed_distance,
    validate_polygon,
)


def test_right_of_a_rightward_line_is_below_it_on_screen() -> None:
    assert signed_distance((0, 100), (200, 100), (50, 130)) == 30
    assert signed_distance((0, 100), (200, 100), (50, 60)) == -40
    assert signed_distance((200, 100), (0, 100), (50, 130)) == -30  # reversed line


def test_right_of_a_downward_line_is_to_the_left_on_screen() -> None:
    assert signed_distance((100, 0), (100, 200), (40, 50)) == 60


def test_degenerate_line_has_no_distance() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        signed_distance((1, 1), (1, 1), (0, 0))


@pytest.mark.parametrize(
    ("p1", "p2", "expected"),
    [
        ((5, -5), (5, 5), True),  # proper crossing
        ((15, -5), (15, 5), False),  # beyond the end
        ((10, -5), (10, 5), True),  # through an end point
        ((5, 1), (5, 5), False),  # stops short
        ((5, 0), (5, 5), True),  # touches
        ((2, 0), (20, 0), True),  # collinear overlap
        ((11, 0), (20, 0), False),  # collinear, disjoint
        ((0, 1), (10, 1), False),  # parallel
    ],
)
def test_segments_intersect(
    p1: tuple[float, float], p2: tuple[float, float], expected: bool
) -> None:
    assert segments_intersect(p1, p2, (0, 0), (10, 0)) is expected
    assert segments_intersect((0, 0), (10, 0), p1, p2) is expected


L_SHAPE = [(0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (4.0, 4.0), (4.0, 10.0), (0.0, 10.0)]


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((2, 2), True),
        ((8, 2), True),
        ((8, 8), False),  # the notch of the concave L
        ((-1, 5), False),
        ((10, 2), True),  # on an edge
        ((4, 7), True),  # on an inner edge
        ((10, 4), True),  # on a vertex
        ((0, 0), True),
        ((11, 0), False),  # on the extension of an edge
    ],
)
def test_point_in_polygon(point: tuple[float, float], expected: bool) -> None:
    assert point_in_polygon(point, L_SHAPE) is expected
    assert point_in_polygon(point, L_SHAPE[::-1]) is expected


def test_polygon_area_magnitude() -> None:
    assert abs(polygon_area(L_SHAPE)) == 64


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0.0, 0.0), (1.0, 1.0)], "at least 3"),
        ([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)], "zero area"),
        ([(0.0, 0.0), (1.0, 0.0), (float("nan"), 1.0)], "finite"),
    ],
)
def test_validate_polygon(polygon: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_polygon(polygon)


def test_anchor_points() -> None:
    assert anchor_point((10, 20, 30, 60), "bottom_center") == (20, 60)
    assert anchor_point((10, 20, 30, 60), "center") == (20, 40)
