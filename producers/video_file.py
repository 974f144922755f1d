"""Reading frames from a video file with OpenCV (FFmpeg backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from producers.frames import SourceFrame, flag_last

__all__ = ["SourceError", "read_video"]


class SourceError(RuntimeError):
    """A source cannot be opened or read."""


def _images(capture: cv2.VideoCapture) -> Iterator[npt.NDArray[np.uint8]]:
    while True:
        ok, image = capture.read()
        if not ok:
            return
        yield np.asarray(image, dtype=np.uint8)


def read_video(path: Path) -> Iterator[SourceFrame]:
    """Frames of ``path`` in order; the last one is flagged."""
    if not path.is_file():
        raise SourceError(f"no such video file: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"cannot open video {path}")
    try:
        produced = False
        for frame in flag_last(_images(capture)):
            produced = True
            yield frame
        if not produced:
            raise SourceError(f"no frames could be read from {path}")
    finally:
        capture.release()
