"""Plane geometry in image coordinates (x to the right, y down), in source-frame pixels.

Conventions the counting rules rely on:

* :func:`signed_distance` is positive on the *right* of the directed line start→end as seen
  on screen (y down) and negative on its left: for a line drawn left to right across the
  image, "right" is below it.
* :func:`segments_intersect` is inclusive: touching an end point, or overlapping collinearly,
  counts as intersecting.
* :func:`point_in_polygon` uses the even-odd rule, and a point exactly on the boundary (an
  edge or a vertex) is inside, so a box resting on a zone's edge is in the zone. Comparisons
  are exact (no tolerance); the hysteresis of zones absorbs jitter at the boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "ANCHORS",
    "Anchor",
    "Point",
    "anchor_point",
    "point_in_polygon",
    "polygon_area",
    "segments_intersect",
    "signed_distance",
    "validate_polygon",
]

Point = tuple[float, float]
Anchor = Literal["bottom_center", "center"]
ANCHORS: tuple[Anchor, ...] = ("bottom_center", "center")


def _cross(o: Point, a: Point, b: Point) -> float:
    """z of (a − o) × (b − o): positive when b lies right of o→a on screen (y down)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _within_box(p: Point, a: Point, b: Point) -> bool:
    """p inside the axis-aligned box spanned by a and b (for p collinear with a, b)."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def signed_distance(start: Point, end: Point, p: Point) -> float:
    """Distance of ``p`` from the infinite line start→end; positive right, negative left."""
    length = math.dist(start, end)
    if length == 0:
        raise ValueError("degenerate line: start equals end")
    return _cross(start, end, p) / length


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segments p1–p2 and q1–q2 share at least one point (end points included)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if (d1 > 0 > d2 or d1 < 0 < d2) and (d3 > 0 > d4 or d3 < 0 < d4):
        return True
    return (
        (d1 == 0 and _within_box(p1, q1, q2))
        or (d2 == 0 and _within_box(p2, q1, q2))
        or (d3 == 0 and _within_box(q1, p1, p2))
        or (d4 == 0 and _within_box(q2, p1, p2))
    )


def point_in_polygon(p: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd test; points on an edge or vertex are inside."""
    inside = False
    for i, a in enumerate(polygon):
        b = polygon[i - 1]
        if _cross(a, b, p) == 0 and _within_box(p, a, b):
            return True
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if p[0] < x:
                inside = not inside
    return inside


def polygon_area(polygon: Sequence[Point]) -> float:
    """Shoelace area; its sign depends on the winding, its magnitude is the area."""
    return 0.5 * sum(_cross((0.0, 0.0), polygon[i - 1], a) for i, a in enumerate(polygon))


def validate_polygon(polygon: Sequence[Point]) -> None:
    """ValueError unless ``polygon`` has at least 3 finite points and a non-zero area."""
    if len(polygon) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(polygon)}")
    if not all(math.isfinite(c) for point in polygon for c in point):
        raise ValueError("polygon coordinates must be finite")
    if polygon_area(polygon) == 0:
        raise ValueError("polygon has zero area (its points are collinear)")


def anchor_point(box: tuple[float, float, float, float], anchor: Anchor) -> Point:
    """The point of an xyxy box that rules test: bottom centre (the feet) or centre."""
    x1, y1, x2, y2 = box
    cx = (x1 + x2) / 2
    if anchor == "bottom_center":
        return (cx, max(y1, y2))
    return (cx, (y1 + y2) / 2)
