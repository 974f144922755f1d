"""Detector backends side by side: torch, ONNX Runtime, OpenVINO and OpenVINO INT8 on the
same frames.

    .venv/bin/python -m benchmarks.detector_backends [--frames 32] [--batch 1 4] [--json]

The sample detector's weights, exported by ``visiontrack model export`` (into a scratch
directory), run on 1280x720 generated scene frames at the size they were trained at (416),
frame by frame and in batches as the worker runs them. It prints milliseconds per frame,
the speed-up over torch, and how many boxes each backend found (the same frames: the counts
should agree within a few boxes near the threshold).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.host import this_host
from processors.detection.detector import YoloDetector, load_yolo, resolve_model_ref
from processors.detection.export import DetectorBackend, Int8Calibration, exported_detector
from processors.detection.ultralytics_env import configure_ultralytics
from producers.synthetic import SceneConfig, SceneGenerator

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class BackendTiming:
    backend: str
    batch: int
    ms_per_frame: float
    boxes: int
    speedup: float = 1.0  # over torch at the same batch size


def scene_frames(count: int, width: int = 1280, height: int = 720) -> list[Image]:
    config = SceneConfig(width=width, height=height, num_frames=count)
    return [f.image for f in SceneGenerator(3, config).frames()]


def time_backend(
    detector: YoloDetector, frames: list[Image], batch: int, repeats: int = 2
) -> tuple[float, int]:
    """Milliseconds per frame over ``repeats`` passes (after one warm-up batch), and boxes
    found in one pass."""
    detector.detect(frames[:batch])
    boxes = sum(
        len(d) for i in range(0, len(frames), batch) for d in detector.detect(frames[i : i + batch])
    )
    started = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(frames), batch):
            detector.detect(frames[i : i + batch])
    return (time.perf_counter() - started) * 1000 / (repeats * len(frames)), boxes


def compare(frames: list[Image], batches: list[int], models: Path) -> list[BackendTiming]:
    sample = resolve_model_ref(None)
    rows: list[BackendTiming] = []
    variants: list[tuple[DetectorBackend, Int8Calibration | None]]
    variants = [(backend, None) for backend in DetectorBackend]
    variants.append((DetectorBackend.OPENVINO, Int8Calibration()))
    for backend, int8 in variants:
        name = backend.value + ("-int8" if int8 else "")
        runnable = exported_detector(sample, backend, models, int8=int8)
        detector = YoloDetector(
            load_yolo(runnable.ref),
            confidence=0.25,
            imgsz=runnable.imgsz or 416,
            max_detections=100,
        )
        for batch in batches:
            ms, boxes = time_backend(detector, frames, batch)
            torch = next((r for r in rows if r.backend == "torch" and r.batch == batch), None)
            speedup = 1.0 if torch is None else torch.ms_per_frame / ms
            rows.append(BackendTiming(name, batch, round(ms, 2), boxes, round(speedup, 2)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        configure_ultralytics(Path(scratch) / "ultralytics")
        rows = compare(scene_frames(args.frames), args.batch, Path(scratch) / "models")
    if args.json:
        sys.stdout.write(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
        return 0
    sys.stdout.write(f"host: {this_host().describe()}\n")
    sys.stdout.write(f"sample detector, {args.frames} frames 1280x720 at 416, 2 passes\n")
    sys.stdout.write(f"{'backend':<13} {'batch':>5} {'ms/frame':>9} {'vs torch':>9} {'boxes':>6}\n")
    for r in rows:
        sys.stdout.write(
            f"{r.backend:<13} {r.batch:>5} {r.ms_per_frame:>9.1f} {r.speedup:>8.2f}x {r.boxes:>6}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
