"""A video file's own encoded video as ``video-chunks``, cut at key frames, not re-encoded.

A file already holds its video compressed: decoding it into JPEG frames or re-encoding it
into H.264 chunks costs the producer a decode and an encode a frame, and the JPEG frames
take several times the bytes on the wire. Stream copy moves the file's packets as they are
into self-contained Matroska chunks (the codec's setup data travels in each chunk's header),
so the producer only reads the file, and the worker decodes what the file holds: the same
work as a program that reads the file itself.

A chunk may start only where decoding can start and nothing shown after that point is
coded before it: at a key frame before which every frame is shown earlier and after which
every frame is shown later (a closed group of pictures). :func:`plan_cuts` chooses the cuts
from the packets' key-frame flags, timestamps and sizes, as pure logic; a file it cannot cut
safely (no timestamps, an open group of pictures, a group larger than a message) is refused
with the reason, and its publisher sends it another way. So is a file holding fewer
packets than the frames it announces: a truncated file demuxes without an error, and sent
another way it fails its job after its last good frame instead of passing for a shorter one.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Final

from producers.chunks import EncodedChunk
from producers.video_file import falls_short, plausible_fps

if TYPE_CHECKING:
    import av.container
    import av.stream
    import av.video.stream

__all__ = [
    "COPY_CONTAINER",
    "CopyRefusedError",
    "CopySource",
    "PacketInfo",
    "frames_in",
    "plan_cuts",
]

COPY_CONTAINER: Final = "matroska"


class CopyRefusedError(ValueError):
    """A file's video cannot be cut into self-contained chunks without re-encoding."""


@dataclass(frozen=True, slots=True)
class PacketInfo:
    """What cutting needs of one packet of the video stream, in decode order."""

    keyframe: bool
    pts: int | None  # presentation timestamp, in the stream's time base
    size: int  # bytes


def plan_cuts(packets: Sequence[PacketInfo], frames_per_chunk: int, max_bytes: int) -> list[int]:
    """The index of each chunk's first packet (the first is 0), cutting at the first safe
    key frame once a chunk holds ``frames_per_chunk`` packets, or earlier at the last safe
    one before the chunk's packets would exceed ``max_bytes``.

    Raises :class:`CopyRefusedError` when the packets cannot be cut into chunks that decode
    on their own into consecutive frames, each within ``max_bytes``.
    """
    if frames_per_chunk < 1:
        raise ValueError("frames_per_chunk must be at least 1")
    if not packets:
        raise CopyRefusedError("the video stream holds no packets")
    if not packets[0].keyframe:
        raise CopyRefusedError("the video does not start with a key frame")
    stamps = [p.pts for p in packets]
    if None in stamps:
        missing = stamps.index(None)
        raise CopyRefusedError(f"packet {missing} has no presentation timestamp")
    pts = [s for s in stamps if s is not None]
    if packets[0].size > max_bytes:
        raise CopyRefusedError(f"packet 0 takes more than {max_bytes} bytes")
    safe = _safe_cuts(packets, pts)
    upto = [0, *accumulate(p.size for p in packets)]  # bytes of packets before each index
    starts = [0]
    last_safe: int | None = None  # the latest safe cut inside the current chunk
    for i in range(1, len(packets)):
        if safe[i]:
            if i - starts[-1] >= frames_per_chunk:
                starts.append(i)
                last_safe = None
            else:
                last_safe = i
        if upto[i + 1] - upto[starts[-1]] > max_bytes:  # with packet i the chunk is too big
            if last_safe is None or upto[i + 1] - upto[last_safe] > max_bytes:
                raise CopyRefusedError(
                    f"packets {starts[-1]}..{i} take more than {max_bytes} bytes "
                    "without a key frame to cut at between them"
                )
            starts.append(last_safe)
            last_safe = None
    return starts


def _safe_cuts(packets: Sequence[PacketInfo], pts: Sequence[int]) -> list[bool]:
    """Whether a chunk may start at each packet: a key frame shown after every packet
    before it and before every packet after it."""
    shown_before = list(accumulate(pts, max))  # the latest shown of packets 0..i
    shown_after = list(accumulate(reversed(pts), min))[::-1]  # the earliest of i..end
    return [
        i > 0 and p.keyframe and shown_before[i - 1] < pts[i] <= shown_after[i]
        for i, p in enumerate(packets)
    ]


@dataclass(frozen=True, slots=True)
class CopySource:
    """A video file whose video stream can be copied into chunks, and where to cut it.

    ``codec`` names the stream's codec as FFmpeg does (``h264``, ``mpeg4``, ``hevc``...);
    ``fps`` is the rate the file announces, else :data:`~producers.video_file.DEFAULT_FPS`.
    """

    path: Path
    codec: str
    fps: float
    starts: tuple[int, ...]  # each chunk's first packet
    packets: int

    @classmethod
    def probe(cls, path: Path, seconds: float, max_bytes: int) -> CopySource:
        """Read the packets' headers (no decoding) and plan chunks of about ``seconds`` at
        the file's frame rate.

        Raises :class:`CopyRefusedError` if the file's video cannot be copied.
        """
        import av

        try:
            with av.open(str(path)) as container:
                stream = _video_stream(container, path)
                infos = [
                    PacketInfo(packet.is_keyframe, packet.pts, packet.size)
                    for packet in container.demux(stream)
                    if packet.size  # demuxers end with an empty flushing packet
                ]
                codec = stream.codec_context.name
                fps = _announced_fps(stream)
                announced = stream.frames or frames_in(container.duration, fps)
        except av.error.FFmpegError as exc:
            raise CopyRefusedError(f"cannot read the packets of {path}: {exc}") from exc
        if falls_short(len(infos), announced):
            # A cut file demuxes into fewer packets without an error: a damaged file must
            # not pass for a shorter one (sent as frames, the job fails after the last one).
            raise CopyRefusedError(
                f"{path} holds {len(infos)} of the {announced} frames it announces: "
                "the file is truncated or corrupt"
            )
        starts = plan_cuts(infos, max(1, round(seconds * fps)), max_bytes)
        return cls(path, codec, fps, tuple(starts), len(infos))

    def chunks(self) -> Iterator[EncodedChunk]:
        """The planned chunks, in order: each a Matroska file of its own holding its
        packets as the source holds them."""
        import av

        ends = (*self.starts[1:], self.packets)
        with av.open(str(self.path)) as container:
            stream = _video_stream(container, self.path)
            packets = (p for p in container.demux(stream) if p.size)
            for number, (start, end) in enumerate(zip(self.starts, ends, strict=True)):
                buffer = io.BytesIO()
                captured_at = time.time()
                with av.open(buffer, mode="w", format=COPY_CONTAINER) as out:
                    copied = out.add_stream_from_template(stream)
                    for _ in range(end - start):
                        packet = next(packets)
                        packet.stream = copied
                        out.mux(packet)
                yield EncodedChunk(
                    number,
                    buffer.getvalue(),
                    start,
                    end - start,
                    captured_at,
                    is_last=end == self.packets,
                )


def frames_in(duration_us: int | None, fps: float) -> int | None:
    """The frames a container of ``duration_us`` microseconds (as FFmpeg reports it)
    holds at ``fps``: the count of containers that announce none (Matroska, WebM)."""
    return round(duration_us / 1_000_000 * fps) if duration_us else None


def _announced_fps(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate  # from the header, else FFmpeg's guess
    return plausible_fps(float(rate) if rate else None)


def _video_stream(
    container: av.container.InputContainer, path: Path
) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise CopyRefusedError(f"{path} holds no video stream")
    return container.streams.video[0]
