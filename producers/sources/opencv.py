"""Live sources read through OpenCV: network streams (FFmpeg) and local camera devices.

RTSP, RTMP, HTTP(S) MJPEG and HLS URLs go to the FFmpeg backend with open and read
timeouts, so a dead camera fails a read within ``read_timeout_s`` instead of hanging; the
stream then reconnects. RTSP defaults to TCP transport (UDP loses packets and smears
frames on busy networks) unless ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` says otherwise.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import numpy.typing as npt

from producers.sources.camera import CameraKind, CameraSpec
from producers.video_file import SourceError

__all__ = ["OpenCVCapture", "OpenCVSource"]

FFMPEG_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
RTSP_OVER_TCP = "rtsp_transport;tcp"


class OpenCVCapture:
    """One open ``cv2.VideoCapture``."""

    def __init__(self, capture: cv2.VideoCapture, description: str) -> None:
        self._capture = capture
        self._description = description

    def read(self) -> npt.NDArray[np.uint8]:
        ok, image = self._capture.read()
        if not ok or image is None:
            raise SourceError(f"{self._description}: no frame (connection lost or stream ended)")
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return np.asarray(image, dtype=np.uint8)

    def close(self) -> None:
        self._capture.release()


class OpenCVSource:
    """A URL or camera device; each :meth:`open` makes a new connection."""

    def __init__(
        self, spec: CameraSpec, *, open_timeout_s: float = 10.0, read_timeout_s: float = 10.0
    ) -> None:
        if spec.kind not in (CameraKind.URL, CameraKind.DEVICE):
            raise ValueError(f"OpenCV does not read {spec.kind} sources")
        self.spec = spec
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s

    @property
    def description(self) -> str:
        return self.spec.description

    def _video_capture(self) -> cv2.VideoCapture:
        spec = self.spec
        if spec.kind is CameraKind.DEVICE:
            device: int | str = spec.target if spec.device_index is None else spec.device_index
            capture = cv2.VideoCapture(device)
            # Keep only the newest frame in the driver: we want the present, not a backlog.
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            return capture
        if spec.target.lower().startswith(("rtsp://", "rtsps://")):
            os.environ.setdefault(FFMPEG_OPTIONS_ENV, RTSP_OVER_TCP)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            round(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            round(self.read_timeout_s * 1000),
        ]
        return cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)

    def open(self) -> OpenCVCapture:
        capture = self._video_capture()
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open {self.description}")
        return OpenCVCapture(capture, self.description)
