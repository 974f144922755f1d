"""Reading frames from a video file with OpenCV (FFmpeg backend).

A damaged file must not pass for a shorter one: when the container announces more frames
than could be decoded, reading fails with a :class:`SourceError` after the frames before
the damage (a truncated MP4 usually cannot be opened at all, having lost its index).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from producers.frames import SourceFrame, flag_last

__all__ = [
    "DEFAULT_FPS",
    "SourceError",
    "falls_short",
    "plausible_fps",
    "read_video",
    "video_fps",
    "video_frame_count",
]

log = logging.getLogger(__name__)

# Containers without a frame index (MKV, WebM, MPEG-TS) announce a count estimated from
# duration x fps, which can be one frame off for an intact file.
COUNT_TOLERANCE = 1


class SourceError(RuntimeError):
    """A source cannot be opened or read."""


def _open(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise SourceError(f"no such video file: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"cannot open video {path}: not a video, or truncated or corrupt")
    return capture


def falls_short(count: int, announced: int | None) -> bool:
    """Whether ``count`` frames (or packets) read are fewer than the file announces, beyond
    the one frame an estimated count may be off: the file is damaged, not shorter."""
    return announced is not None and count < announced - COUNT_TOLERANCE


def _announced(capture: cv2.VideoCapture) -> int | None:
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(count) if count > 0 else None


#: Assumed when a container does not announce its frame rate.
DEFAULT_FPS = 25.0


def plausible_fps(fps: float | None) -> float:
    """``fps`` as a container announced it, or :data:`DEFAULT_FPS` where it announced none
    (None, 0, NaN) or a rate no video has (a time base taken for a rate, say 90000)."""
    return fps if fps is not None and 0 < fps < 1000 else DEFAULT_FPS


def video_fps(path: Path) -> float:
    """The frame rate the container announces, else :data:`DEFAULT_FPS`."""
    capture = _open(path)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return plausible_fps(fps)


def video_frame_count(path: Path) -> int | None:
    """The frame count the container announces, or None if it does not say."""
    capture = _open(path)
    try:
        return _announced(capture)
    finally:
        capture.release()


def _images(capture: cv2.VideoCapture, path: Path) -> Iterator[npt.NDArray[np.uint8]]:
    announced = _announced(capture)
    read = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        read += 1
        yield np.asarray(image, dtype=np.uint8)
    if read == 0:
        raise SourceError(f"no frames could be read from {path}")
    if falls_short(read, announced):
        raise SourceError(
            f"{path} ended after {read} of the {announced} frames it announces: "
            "the file is truncated or corrupt"
        )
    if announced is not None and read != announced:
        log.info("read %d frames of %d announced", read, announced, extra={"path": str(path)})


def read_video(path: Path) -> Iterator[SourceFrame]:
    """Frames of ``path`` in order; the last one is flagged.

    Raises :class:`SourceError` if the file cannot be opened, or after the last readable
    frame if it is damaged (that frame is then not flagged as the last).
    """
    capture = _open(path)
    try:
        yield from flag_last(_images(capture, path))
    finally:
        capture.release()
