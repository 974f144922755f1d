"""Reading frames from a video file with OpenCV (FFmpeg backend)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["SourceError", "VideoFrame", "read_video"]


class SourceError(RuntimeError):
    """A source cannot be opened or read."""


@dataclass(frozen=True, slots=True)
class VideoFrame:
    index: int
    image: npt.NDArray[np.uint8]
    is_last: bool


def read_video(path: Path) -> Iterator[VideoFrame]:
    """Frames of ``path`` in order; the last one is flagged (one frame of look-ahead)."""
    if not path.is_file():
        raise SourceError(f"no such video file: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"cannot open video {path}")
    try:
        ok, current = capture.read()
        if not ok:
            raise SourceError(f"no frames could be read from {path}")
        index = 0
        while True:
            ok, following = capture.read()
            yield VideoFrame(index, np.asarray(current, dtype=np.uint8), is_last=not ok)
            if not ok:
                return
            current, index = following, index + 1
    finally:
        capture.release()
