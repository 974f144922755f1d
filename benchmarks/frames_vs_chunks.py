"""JPEG frames or H.264 chunks: bytes on the wire, producer and worker time, fidelity.

    .venv/bin/python -m benchmarks.frames_vs_chunks [--frames 150] [--quality 90]

Two sources, decoded into memory first (not timed): a 1280x720 generated scene (camera
noise on every pixel, the hard case for a video codec) and ``bikes.mp4`` (640x272, a real
street). Pinned to one core, each is encoded as the producers do, as JPEG frame messages
and as 2-second H.264/MPEG-TS chunk messages (x264 CRF 23, veryfast, zero latency), and
decoded as the worker does. It prints, side by side, KB per frame, milliseconds per frame
to encode and to decode, PSNR against the source frames, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import numpy.typing as npt

from processors.pipeline.chunk_decoder import decode_chunk
from processors.pipeline.frame_processor import decode_jpeg
from producers.chunks import ChunkPlan, chunk_message, encode_chunks
from producers.frames import encode_image, flag_last
from producers.synthetic import SceneConfig, SceneGenerator
from schemas.frames import FrameMessage
from schemas.video_chunks import VideoChunk
from visiontrack.samples import bikes_video

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class PathCost:
    """One way of sending frames: message bytes, encode and decode time per frame, PSNR."""

    kb_per_frame: float
    encode_ms: float
    decode_ms: float
    psnr_db: float


@dataclass(frozen=True, slots=True)
class Comparison:
    source: str
    frames: int
    jpeg: PathCost
    chunks: PathCost

    @property
    def bytes_ratio(self) -> float:
        """JPEG bytes over chunk bytes (> 1: chunks are smaller)."""
        return self.jpeg.kb_per_frame / self.chunks.kb_per_frame


def _psnr(originals: Sequence[Image], decoded: Sequence[Image]) -> float:
    mse = np.mean(
        [np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(originals, decoded, strict=True)]
    )
    return float(10.0 * np.log10(255.0**2 / mse))


def _measure(
    images: Sequence[Image],
    encode: Callable[[Sequence[Image]], list[bytes]],
    decode: Callable[[list[bytes]], list[Image]],
) -> PathCost:
    """Time ``encode`` (images to messages) and ``decode`` (messages to images)."""
    t0 = time.perf_counter()
    messages = encode(images)
    t1 = time.perf_counter()
    decoded = decode(messages)
    t2 = time.perf_counter()
    n = len(images)
    return PathCost(
        sum(map(len, messages)) / n / 1024,
        1000 * (t1 - t0) / n,
        1000 * (t2 - t1) / n,
        _psnr(images, decoded),
    )


def _jpeg(images: Sequence[Image], quality: int) -> PathCost:
    def encode(frames: Sequence[Image]) -> list[bytes]:
        return [
            encode_image(
                image, stream_id="bench", frame_no=i, source="bench", jpeg_quality=quality
            ).to_bytes()
            for i, image in enumerate(frames)
        ]

    def decode(messages: list[bytes]) -> list[Image]:
        return [decode_jpeg(FrameMessage.from_bytes(m).jpeg) for m in messages]

    return _measure(images, encode, decode)


def _chunks(images: Sequence[Image], fps: float, plan: ChunkPlan) -> PathCost:
    def encode(frames: Sequence[Image]) -> list[bytes]:
        return [
            chunk_message(c, stream_id="bench", first_frame_no=0, fps=fps, job_id=None).to_bytes()
            for c in encode_chunks(flag_last(frames), fps, plan)
        ]

    def decode(messages: list[bytes]) -> list[Image]:
        return [f.image for m in messages for f in decode_chunk(VideoChunk.from_bytes(m))]

    return _measure(images, encode, decode)


def compare(
    source: str, images: Sequence[Image], fps: float, quality: int, plan: ChunkPlan
) -> Comparison:
    return Comparison(source, len(images), _jpeg(images, quality), _chunks(images, fps, plan))


def _video_frames(limit: int) -> tuple[list[Image], float]:
    capture = cv2.VideoCapture(str(bikes_video()))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    images: list[Image] = []
    while len(images) < limit:
        ok, image = capture.read()
        if not ok:
            break
        images.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    return images, fps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    config = SceneConfig(width=1280, height=720, num_frames=args.frames)
    scene = [f.image for f in SceneGenerator(3, config).frames()]
    bikes, bikes_fps = _video_frames(args.frames)
    plan = ChunkPlan()
    results = [
        compare("scene 1280x720", scene, config.fps, args.quality, plan),
        compare("bikes.mp4 640x272", bikes, bikes_fps, args.quality, plan),
    ]
    if args.json:
        rows = [asdict(r) | {"bytes_ratio": round(r.bytes_ratio, 2)} for r in results]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    sys.stdout.write(
        f"JPEG q{args.quality} frames vs 2 s H.264 chunks (CRF {plan.crf}), one core\n"
    )
    for r in results:
        sys.stdout.write(f"{r.source}, {r.frames} frames\n")
        for name, c in (("jpeg", r.jpeg), ("chunks", r.chunks)):
            sys.stdout.write(
                f"  {name:<6} {c.kb_per_frame:7.1f} KB/frame  encode {c.encode_ms:6.2f} ms  "
                f"decode {c.decode_ms:6.2f} ms  PSNR {c.psnr_db:5.1f} dB\n"
            )
        sys.stdout.write(
            f"  chunks are {r.bytes_ratio:.1f}x smaller; encode x"
            f"{r.chunks.encode_ms / r.jpeg.encode_ms:.2f}, decode x"
            f"{r.chunks.decode_ms / r.jpeg.decode_ms:.2f} the JPEG time\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
