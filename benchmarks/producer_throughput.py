"""How many 720p frames one core publishes, and where a frame's time goes.

    .venv/bin/python -m benchmarks.producer_throughput [--frames 300] [--quality 85]

A 1280x720 generated scene is written to an mp4 first (not timed). Then, in this process
pinned to one core (librdkafka's threads included; the bundled broker runs on another), every
frame is decoded from the file with OpenCV, JPEG-encoded at ``--quality`` into a frame message
and published through the project's :class:`~producers.publisher.FramePublisher` (idempotent,
acks=all) to a real broker; the closing flush counts toward sending. It prints the cost per
frame of each stage, the frames per second of the whole path on one core, and the ratio to
what four live streams at 15 fps need.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from infra.broker import BundledBroker
from infra.topics import ensure_topics
from producers.frames import encode_image
from producers.publisher import FramePublisher, frame_limit
from producers.synthetic import SceneConfig, SceneGenerator, write_video
from visiontrack.settings import Settings, load_settings

log = logging.getLogger("benchmarks.producer_throughput")

LIVE_STREAMS, LIVE_FPS = 4, 15.0


@dataclass(frozen=True, slots=True)
class StageCosts:
    """Mean milliseconds per frame of each stage, and the frames they cover."""

    frames: int
    decode_ms: float
    encode_ms: float
    send_ms: float
    jpeg_kb: float

    @property
    def total_ms(self) -> float:
        return self.decode_ms + self.encode_ms + self.send_ms

    @property
    def fps_per_core(self) -> float:
        return 1000.0 / self.total_ms

    @property
    def live_ratio(self) -> float:
        """Frames per second on one core over what 4 live streams at 15 fps need (>= 1 holds)."""
        return self.fps_per_core / (LIVE_STREAMS * LIVE_FPS)


def _pin(pid: int, core: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {core})


def measure(video: Path, bootstrap: str, settings: Settings, quality: int) -> StageCosts:
    """Decode, encode and publish every frame of ``video`` to the frames topic of
    ``settings``, within its size limits, as producers do; the stage costs per frame."""
    capture = cv2.VideoCapture(str(video))
    publisher = FramePublisher(bootstrap, settings.topics.frames, settings.message_max_bytes)
    max_bytes = frame_limit(settings.frame_max_bytes, settings.message_max_bytes)
    decode = encode = send = 0.0
    frames = jpeg_bytes = 0
    try:
        while True:
            t0 = time.perf_counter()
            ok, image = capture.read()
            t1 = time.perf_counter()
            if not ok:
                break
            message = encode_image(
                np.asarray(image, dtype=np.uint8),
                stream_id="bench",
                frame_no=frames,
                source=str(video),
                jpeg_quality=quality,
                max_bytes=max_bytes,
            )
            t2 = time.perf_counter()
            publisher.publish(message)
            t3 = time.perf_counter()
            decode, encode, send = decode + t1 - t0, encode + t2 - t1, send + t3 - t2
            frames += 1
            jpeg_bytes += len(message.jpeg)
        t4 = time.perf_counter()
        publisher.close()
        send += time.perf_counter() - t4
    finally:
        capture.release()
    if frames == 0:
        raise RuntimeError(f"no frames decoded from {video}")
    return StageCosts(
        frames=frames,
        decode_ms=1000.0 * decode / frames,
        encode_ms=1000.0 * encode / frames,
        send_ms=1000.0 * send / frames,
        jpeg_kb=jpeg_bytes / frames / 1024.0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--quality", type=int, default=85)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    cv2.setNumThreads(1)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "scene-720p.mp4"
        config = SceneConfig(width=1280, height=720, num_frames=args.frames)
        write_video(SceneGenerator(args.seed, config), video)
        with BundledBroker() as broker:
            if broker.pid is not None and len(cores) > 1:
                _pin(broker.pid, cores[-1])
            settings = load_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
            ensure_topics(settings, broker.bootstrap_servers)
            _pin(0, cores[0])
            costs = measure(video, broker.bootstrap_servers, settings, args.quality)

    report = asdict(costs) | {
        "fps_per_core": round(costs.fps_per_core, 1),
        "needed_fps": LIVE_STREAMS * LIVE_FPS,
        "live_ratio": round(costs.live_ratio, 2),
    }
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(
            f"720p JPEG q{args.quality}, {costs.frames} frames, {costs.jpeg_kb:.0f} KB/frame, "
            "one core\n"
            f"  decode {costs.decode_ms:6.2f} ms/frame\n"
            f"  encode {costs.encode_ms:6.2f} ms/frame\n"
            f"  send   {costs.send_ms:6.2f} ms/frame\n"
            f"  total  {costs.total_ms:6.2f} ms/frame = {costs.fps_per_core:.0f} frames/s "
            f"per core\n"
            f"  4 live streams x 15 fps need {LIVE_STREAMS * LIVE_FPS:.0f} frames/s: "
            f"ratio {costs.live_ratio:.2f} ({'holds' if costs.live_ratio >= 1 else 'short'})\n"
        )
    return 0 if costs.live_ratio >= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
