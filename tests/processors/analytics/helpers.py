"""Boxes placed by their anchor point, for readable hand-made sequences."""

from __future__ import annotations

from processors.analytics import TrackPoint


def feet(track_id: int, x: float, y: float, class_name: str = "person") -> TrackPoint:
    """A 10×20 box whose bottom centre (the default anchor) is (x, y)."""
    return TrackPoint(track_id, class_name, x - 5, y - 20, x + 5, y)


def at(frame_no: int) -> float:
    """captured_at of a frame at 4 fps: exact in binary, so dwell times compare with ==."""
    return 1_700_000_000.0 + 0.25 * frame_no
