"""A tiny MJPEG camera for tests: multipart/x-mixed-replace over a real HTTP socket.

Connection ``n`` (0-based) serves frames filled with ``COLORS[n % 3]``; the first
``cut_after`` frames of the first connection are all it gets before the server closes it
(the camera "drops" mid-stream); later connections stream until the server stops.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import cv2
import numpy as np

from processors.pipeline.frame_processor import decode_jpeg

BOUNDARY = b"frame"
COLORS = ((255, 0, 0), (0, 0, 255), (0, 255, 0))  # BGR: blue, red, green


def frame_jpeg(color: tuple[int, int, int], index: int, size: tuple[int, int]) -> bytes:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:] = color
    cv2.putText(image, str(index), (5, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255,) * 3)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    return bytes(jpeg.tobytes())


class MjpegCamera:
    def __init__(self, fps: float = 20.0, cut_after: int | None = 15) -> None:
        self.fps = fps
        self.cut_after = cut_after
        self.size = (96, 72)
        self.connections = 0
        self.cut_at: float | None = None  # wall-clock time the first connection was closed
        self._stopping = threading.Event()
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                camera.serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/video.mjpg"

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        number = self.connections
        self.connections += 1
        handler.send_response(200)
        handler.send_header(
            "Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}"
        )
        handler.end_headers()
        limit = self.cut_after if number == 0 else None
        index = 0
        while not self._stopping.is_set() and (limit is None or index < limit):
            data = frame_jpeg(COLORS[number % 3], index, self.size)
            part = (
                b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n"
            )
            try:
                handler.wfile.write(part)
                handler.wfile.flush()
            except OSError:
                return
            index += 1
            time.sleep(1 / self.fps)
        if limit is not None:
            self.cut_at = time.time()
        handler.close_connection = True

    def __enter__(self) -> MjpegCamera:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def color_of(jpeg: bytes) -> tuple[int, int, int]:
    """The (B, G, R) of a frame's corner, rounded to 0 or 255."""
    image = decode_jpeg(jpeg)
    b, g, r = (int(v) for v in image[2, 2])
    return (255 if b > 127 else 0, 255 if g > 127 else 0, 255 if r > 127 else 0)
