"""A tiny RTSP camera for tests: H.264 over RTP, interleaved on the RTSP TCP connection.

It speaks the part of RTSP 1.0 (RFC 2326) an FFmpeg client needs to play a stream:
OPTIONS, DESCRIBE (an SDP with one H.264 track), SETUP with ``RTP/AVP/TCP`` transport
(UDP is refused with 461, as many cameras behind NAT do), PLAY, GET_PARAMETER keep-alives
and TEARDOWN. Frames are encoded live with x264 (a fresh encoder per connection, so each
starts with SPS, PPS and a key frame in-band) and packetized as RFC 6184 describes: a NAL
unit that fits in one RTP packet goes alone, a larger one is split into FU-A fragments; the
last packet of a frame carries the marker bit.

Like :class:`tests.producers.mjpeg_server.MjpegCamera`, connection ``n`` serves frames
filled with ``COLORS[n % 3]`` and the first connection is closed after ``cut_after`` frames.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from fractions import Fraction
from types import TracebackType

import av
import numpy as np

from tests.producers.mjpeg_server import COLORS

RTP_PAYLOAD_TYPE = 96
RTP_CLOCK = 90_000
MAX_RTP_PAYLOAD = 1400
_START_CODE = b"\x00\x00\x01"


def nal_units(annex_b: bytes) -> list[bytes]:
    """The NAL units of an H.264 Annex B byte stream, without start codes."""
    units = []
    for part in annex_b.split(_START_CODE):
        unit = part.rstrip(b"\x00")  # a 4-byte start code leaves a zero before the next
        if unit:
            units.append(unit)
    return units


def rtp_payloads(nal: bytes) -> list[bytes]:
    """``nal`` as one single-NAL payload, or as FU-A fragments (RFC 6184, 5.8)."""
    if len(nal) <= MAX_RTP_PAYLOAD:
        return [nal]
    header, body = nal[0], nal[1:]
    indicator = (header & 0xE0) | 28  # F and NRI of the unit, type 28 (FU-A)
    kind = header & 0x1F
    step = MAX_RTP_PAYLOAD - 2
    pieces = [body[i : i + step] for i in range(0, len(body), step)]
    payloads = []
    for i, piece in enumerate(pieces):
        start = 0x80 if i == 0 else 0
        end = 0x40 if i == len(pieces) - 1 else 0
        payloads.append(bytes([indicator, start | end | kind]) + piece)
    return payloads


class _Session:
    """One client connection: RTSP requests in, interleaved RTP out."""

    def __init__(self, camera: RtspCamera, conn: socket.socket, number: int) -> None:
        self.camera = camera
        self.conn = conn
        self.number = number
        self.playing = threading.Event()
        self.closed = threading.Event()
        self._send_lock = threading.Lock()
        self._buffer = b""

    def send(self, data: bytes) -> None:
        with self._send_lock:
            self.conn.sendall(data)

    def _read_request(self) -> tuple[str, dict[str, str]] | None:
        """The next RTSP request (method line, headers), skipping interleaved RTCP."""
        while True:
            if self._buffer.startswith(b"$"):
                if len(self._buffer) >= 4:
                    (length,) = struct.unpack(">H", self._buffer[2:4])
                    if len(self._buffer) >= 4 + length:
                        self._buffer = self._buffer[4 + length :]
                        continue
            elif b"\r\n\r\n" in self._buffer:
                head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                skip = int(headers.get("content-length", "0"))
                self._buffer = self._buffer[skip:]
                return lines[0], headers
            chunk = self.conn.recv(4096)
            if not chunk:
                return None
            self._buffer += chunk

    def _reply(self, cseq: str, status: str = "200 OK", extra: str = "", body: str = "") -> None:
        head = f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.send((head + "\r\n" + body).encode())

    def serve_requests(self) -> None:
        session = "Session: 4711\r\n"
        try:
            while (request := self._read_request()) is not None:
                line, headers = request
                method, url = line.split(" ")[:2]
                cseq = headers.get("cseq", "0")
                if method == "OPTIONS":
                    methods = "OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN"
                    self._reply(cseq, extra=f"Public: {methods}\r\n")
                elif method == "DESCRIBE":
                    sdp = (
                        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test camera\r\n"
                        "c=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                        f"m=video 0 RTP/AVP {RTP_PAYLOAD_TYPE}\r\n"
                        f"a=rtpmap:{RTP_PAYLOAD_TYPE} H264/{RTP_CLOCK}\r\n"
                        f"a=fmtp:{RTP_PAYLOAD_TYPE} packetization-mode=1\r\n"
                        "a=control:track1\r\n"
                    )
                    extra = f"Content-Base: {url}/\r\nContent-Type: application/sdp\r\n"
                    self._reply(cseq, extra=extra, body=sdp)
                elif method == "SETUP":
                    if "TCP" not in headers.get("transport", ""):
                        self._reply(cseq, "461 Unsupported Transport")
                        continue
                    transport = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
                    self._reply(cseq, extra=transport + session)
                elif method == "PLAY":
                    self._reply(cseq, extra=session + "Range: npt=0.000-\r\n")
                    self.playing.set()
                elif method in ("GET_PARAMETER", "SET_PARAMETER"):
                    self._reply(cseq, extra=session)
                elif method == "TEARDOWN":
                    self._reply(cseq, extra=session)
                    return
                else:
                    self._reply(cseq, "501 Not Implemented")
        except OSError:
            return
        finally:
            self.closed.set()

    def stream(self) -> None:
        """Encode and send frames once PLAY arrives, until cut, stopped or disconnected."""
        camera = self.camera
        while not self.playing.wait(0.05):
            if self.closed.is_set() or camera.stopping.is_set():
                return
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.pix_fmt = *camera.size, "yuv420p"
        codec.time_base = Fraction(1, round(camera.fps))
        codec.options = {"preset": "ultrafast", "tune": "zerolatency", "bframes": "0"}
        limit = camera.cut_after if self.number == 0 else None
        image = np.zeros((camera.size[1], camera.size[0], 3), np.uint8)
        image[:] = COLORS[self.number % 3]
        sequence, index = 0, 0
        try:
            while not (self.closed.is_set() or camera.stopping.is_set()):
                if limit is not None and index >= limit:
                    break
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                frame.pts = index
                stamp = round(index * RTP_CLOCK / camera.fps) & 0xFFFFFFFF
                payloads = [
                    payload
                    for packet in codec.encode(frame)
                    for nal in nal_units(bytes(packet))
                    for payload in rtp_payloads(nal)
                ]
                for i, payload in enumerate(payloads):
                    marker = 0x80 if i == len(payloads) - 1 else 0
                    header = struct.pack(
                        ">BBHII", 0x80, marker | RTP_PAYLOAD_TYPE, sequence, stamp, 0x5EED
                    )
                    sequence = (sequence + 1) & 0xFFFF
                    rtp = header + payload
                    self.send(b"$\x00" + struct.pack(">H", len(rtp)) + rtp)
                index += 1
                time.sleep(1 / camera.fps)
        except OSError:
            return
        if limit is not None and index >= limit:
            camera.cut_at = time.time()
        try:  # shutdown, not just close: the request thread still holds the socket
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            return
        finally:
            self.conn.close()


class RtspCamera:
    def __init__(self, fps: float = 20.0, cut_after: int | None = 15) -> None:
        self.fps = fps
        self.cut_after = cut_after
        self.size = (160, 120)
        self.connections = 0
        self.cut_at: float | None = None  # wall-clock time the first connection was closed
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self._sessions: list[_Session] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self._listener.getsockname()[1]}/live"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            session = _Session(self, conn, self.connections)
            self._sessions.append(session)
            self.connections += 1
            for body in (session.serve_requests, session.stream):
                thread = threading.Thread(target=body, daemon=True)
                thread.start()
                self._threads.append(thread)

    def __enter__(self) -> RtspCamera:
        self._accepting.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._listener.close()
        self._accepting.join(5)
        for session in self._sessions:
            try:
                session.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue  # already closed by its stream
        for thread in self._threads:
            thread.join(5)
