"""The whole pipeline at speed, side by side in one run.

    .venv/bin/python -m benchmarks.pipeline [--frames 600] [--latency-frames 150]
                                            [--rounds 1] [--json]

A generated 640x480 scene (the sample detector's kind of images) is written to an MP4, and:

1. **Throughput**, frames/s, torch, OpenVINO and OpenVINO INT8 (``VISIONTRACK_DETECTOR_INT8``
   and, since 2026-12-07, ``VISIONTRACK_EMBEDDER_INT8``) backends (the OpenVINO runs embed in
   OpenVINO too, ``VISIONTRACK_EMBEDDER_BACKEND``, as a worker set up for OpenVINO would):
   - *direct*: the worker's frame processor (detector, embedder, DeepSORT) called in a loop on
     the video's frames as the producers' reader decodes them, in batches of
     ``VISIONTRACK_BATCH_MAX_FRAMES`` (each pipeline frame is decoded once too, from its
     JPEG); and, for context, on the frames decoded beforehand, no decode in the loop;
   - *pipeline*: the video published as a job to the bundled broker first, then one Faust
     worker process detects and tracks it and the sink stores it in embedded ClickHouse;
     frames/s over the span from the first to the last frame's ``processed_at``. The job
     sends the file's own encoded video in chunks (stream copy: the worker decodes what
     the direct loop decodes); for context, the same job as JPEG frames;
   - *Ultralytics*: ``model.track(video, stream=True)`` with the same weights, image size and
     confidence floor (its default tracker, BoT-SORT), on the ``.pt`` and on the OpenVINO
     export.
2. **Streams**: the video as 4 streams at once vs 1 stream, aggregate frames/s, with one
   worker and with two (one torch thread each): a stream is tracked in order on one worker,
   so more streams are what lets more workers help. The target compares them with one
   stream on one worker of every core; for context, one stream on the same two workers.
3. **CPU**: the cores each run kept busy and its CPU milliseconds per frame, for a pipeline
   run split into the workers, the broker and this process (the sink and embedded ClickHouse):
   on 2 cores what the pipeline spends beside the detector and tracker is taken from them.
4. **Latency**: one stream published at 10 frames/s to a running worker, from a frame's
   capture to its row in ClickHouse (``stored_at - captured_at``), p50 and p95.
5. **Memory**: each worker process's peak resident set (``VmHWM``).

``--rounds N`` repeats the whole run N times and then prints each ratio's median over the
rounds: each round's ratios are measured side by side in it, but its rows are measured
minutes apart on a shared host whose speed drifts meanwhile.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.cpu_usage import CpuSampler, ProcessCpu
from benchmarks.host import HostCpu, this_host
from infra.broker import BundledBroker
from infra.local_pipeline import LocalPipeline, isolated_settings
from infra.topics import spread_stream_ids
from processors.detection.detector import detection_defaults, load_yolo, resolve_model_ref
from processors.detection.export import DetectorBackend, Int8Calibration, exported_detector
from processors.detection.ultralytics_env import configure_ultralytics
from processors.pipeline.frame_processor import FrameInput
from processors.worker import build_processor
from producers.frames import SourceFrame, flag_last
from producers.jobs import FileEncoding, publish_file, publish_job
from producers.synthetic import SceneConfig, SceneGenerator
from producers.synthetic.live import paced
from producers.video_file import read_video
from visiontrack.gc_freeze import freeze_loaded_objects
from visiontrack.settings import Settings

Image = npt.NDArray[np.uint8]
VIDEO_FPS = 10.0
LATENCY_FPS = 10.0
# The targets, by ratio name (ratios without one are printed for context).
TARGETS = {
    "pipeline_vs_direct_torch": 0.90,
    "pipeline_vs_direct_openvino": 0.90,
    "pipeline_vs_direct_openvino_int8": 0.90,
    "pipeline_torch_vs_track_torch": 1.0,
    "pipeline_openvino_vs_track_torch": 2.0,
    "pipeline_openvino_int8_vs_track_torch": 2.0,
    "four_streams_two_workers_vs_one": 1.3,
}


# The workers compared: all torch, and OpenVINO for the detector export and the re-id network.
_torch = {"detector_backend": "torch", "detector_int8": False, "embedder_backend": "torch"}
_openvino = {"detector_backend": "openvino", "embedder_backend": "openvino"}
_f32 = {"detector_int8": False, "embedder_int8": False}
_int8 = {"detector_int8": True, "embedder_int8": True}


def backend_label(settings: Settings) -> str:
    """The detector a run used: its backend, and "int8" for a quantized OpenVINO export."""
    return settings.detector_backend + ("-int8" if settings.detector_int8 else "")


class _Rates:
    """What a run's frames, wall-clock seconds and CPU seconds come to."""

    __slots__ = ()
    frames: int
    seconds: float
    cpu_s: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def cores(self) -> float:
        return self.cpu_s / self.seconds

    @property
    def cpu_ms_per_frame(self) -> float:
        return self.cpu_s * 1000 / self.frames


@dataclass(frozen=True, slots=True)
class Throughput(_Rates):
    what: str
    backend: str
    frames: int
    seconds: float
    cpu_s: float  # of this process, all its threads


class _Timed:
    """Wall-clock and this process's CPU seconds (all its threads) of a ``with`` block."""

    def __enter__(self) -> _Timed:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_s = time.process_time() - self._cpu


@dataclass(frozen=True, slots=True)
class PipelineRun(_Rates):
    streams: int
    workers: int
    backend: str
    encoding: str  # how the job's frames went out (producers.jobs.FileEncoding)
    frames: int
    seconds: float
    latency_p50_s: float
    latency_p95_s: float
    processed_p50_s: float
    processed_p95_s: float
    peak_rss_mb: tuple[float, ...]
    cpu: tuple[ProcessCpu, ...]  # from the first to the last frame processed

    @property
    def cpu_s(self) -> float:  # type: ignore[override]  # derived here, a field elsewhere
        """Of all the pipeline's processes over ``seconds``."""
        return sum(p.cpu_s for p in self.cpu)

    @classmethod
    def measure(
        cls, bench: BenchPipeline, ids: Sequence[str], *, workers: int, encoding: FileEncoding
    ) -> PipelineRun:
        """The stored frames of streams ``ids``, the CPU of the pipeline's processes while
        they were processed and the workers' memory, once their jobs are done (the workers
        still running)."""
        pipeline = bench.pipeline
        memory = tuple(round(peak_rss_mb(p), 1) for p in pipeline.worker_pids().values())
        timing = pipeline.services.store.timing(ids)
        cpu = bench.cpu.between(timing.first_processed_at, timing.last_processed_at)
        return cls(
            len(ids),
            workers,
            backend_label(pipeline.settings),
            encoding.value,
            timing.frames,
            timing.processing_span_s,
            timing.latency_p50_s,
            timing.latency_p95_s,
            timing.processed_p50_s,
            timing.processed_p95_s,
            memory,
            tuple(cpu),
        )


def write_scene_video(path: Path, frames: int, seed: int = 11) -> list[Image]:
    """A generated scene as an MP4 at 10 frames/s; returns its frames as decoded back."""
    config = SceneConfig(width=640, height=480, num_frames=frames)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), VIDEO_FPS, (640, 480))
    for frame in SceneGenerator(seed, config).frames():
        writer.write(frame.image)
    writer.release()
    capture = cv2.VideoCapture(str(path))
    decoded = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        decoded.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    return decoded


def time_direct(settings: Settings, video: Path, frames: Sequence[Image]) -> list[Throughput]:
    """The worker's processor in a loop, twice: on ``frames`` decoded beforehand, for
    context (no decode at all), then on the video's frames as the producers' reader decodes
    them in the loop (as a program that detects and tracks a video calls them, and as
    ``model.track`` reads it).

    Each loop gets a processor of its own, warmed up as the worker warms its own: the
    pipeline's worker starts fresh, and a processor meets each batch shape (above all each
    count of crops for the re-id network) once at a cost, 35-50 % more time a crop on first
    sight with every backend. The second loop on the first loop's processor ran warmer than
    any worker starts.
    """
    with _torch_threads_kept():
        batch = settings.batch_max_frames
        runs = []
        for what, stream_id, images in (
            ("direct, frames in memory", "in-memory", iter(frames)),
            ("direct", "direct", (f.image for f in read_video(video))),
        ):
            processor = build_processor(settings)
            processor.warm_up()  # as the worker does before its first batch
            inputs = (FrameInput(image, stream_id, i, 0.0) for i, image in enumerate(images))
            count = 0
            with _Timed() as timed:
                while chunk := list(islice(inputs, batch)):
                    processor.process_batch(chunk)
                    count += len(chunk)
            label = backend_label(settings)
            runs.append(Throughput(what, label, count, timed.seconds, timed.cpu_s))
    return runs


@contextmanager
def _torch_threads_kept() -> Iterator[None]:
    """torch's thread count as it was before the block: the processor of an OpenVINO worker
    keeps torch to one thread, and Ultralytics' own loop runs after it in this process."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def time_ultralytics_track(settings: Settings, video: Path, frames: int) -> Throughput:
    """Ultralytics' own detect-and-track loop on the video, with the detector's settings."""
    model_ref = resolve_model_ref(settings.model)
    runnable = exported_detector(
        model_ref,
        DetectorBackend(settings.detector_backend),
        settings.data_dir / "models",
        int8=Int8Calibration.of(settings),
    )
    model = load_yolo(runnable.ref)
    options: dict[str, object] = {
        "conf": detection_defaults(model_ref).confidence,
        "verbose": False,
        "persist": True,
    }
    if runnable.imgsz is not None:  # else the size the weights were trained at, as ours
        options["imgsz"] = runnable.imgsz
    next(iter(model.track(source=str(video), stream=True, **options)))  # warm-up
    with _Timed() as timed:
        seen = sum(1 for _ in model.track(source=str(video), stream=True, **options))
    if seen != frames:
        raise RuntimeError(f"model.track yielded {seen} results for {frames} frames")
    return Throughput(
        "ultralytics track", backend_label(settings), frames, timed.seconds, timed.cpu_s
    )


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident set (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


@dataclass(frozen=True, slots=True)
class BenchPipeline:
    pipeline: LocalPipeline
    cpu: CpuSampler  # of the workers, the broker and this process (sink, ClickHouse)


@contextmanager
def bench_pipeline(settings: Settings, work_dir: Path) -> Iterator[BenchPipeline]:
    """A pipeline of its own (bundled broker, embedded ClickHouse, SQLite) with no worker,
    its processes' CPU sampled."""
    broker = BundledBroker(log_file=work_dir / "broker.log")
    broker.start()
    try:
        local = isolated_settings(settings, work_dir, broker.bootstrap_servers, name="bench")
        with LocalPipeline(local, broker.bootstrap_servers, work_dir / "logs") as pipeline:
            pipeline.stop_worker()

            def roles() -> dict[str, list[int]]:
                return {
                    "workers": list(pipeline.worker_pids().values()),
                    "broker": [broker.pid] if broker.pid else [],
                    "sink and store": [os.getpid()],
                }

            # This process stands in for the API's (the sink's), which freezes what it has
            # loaded once its services run; thawed after, for the next run's collections.
            freeze_loaded_objects()
            try:
                with CpuSampler(roles).sampling() as cpu:
                    yield BenchPipeline(pipeline, cpu)
            finally:
                gc.unfreeze()
    finally:
        broker.stop()


def start_workers(pipeline: LocalPipeline, workers: int, work_dir: Path) -> None:
    for i in range(workers):
        extra = {"VISIONTRACK_DATA_DIR": str(work_dir / f"worker-{i}")}
        if workers > 1:
            extra["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
        pipeline.start_worker(f"worker-{i}", **extra)


def run_backlog(
    settings: Settings,
    video: Path,
    work_dir: Path,
    *,
    streams: int,
    workers: int,
    encoding: FileEncoding = FileEncoding.COPY,
) -> PipelineRun:
    """Publish ``streams`` copies of the video first (as ``encoding`` says), then let
    ``workers`` work them off."""
    with bench_pipeline(settings, work_dir) as bench:
        pipeline = bench.pipeline
        ids = spread_stream_ids("bench", streams, pipeline.settings.topic_partitions)
        sessions = pipeline.services.sessions
        jobs = [
            publish_file(
                pipeline.settings,
                pipeline.bootstrap,
                sessions,
                path=video,
                stream_id=s,
                encoding=encoding,
            )
            for s in ids
        ]
        start_workers(pipeline, workers, work_dir)
        pipeline.wait_for_jobs([j.job_id for j in jobs], timeout=1800)
        return PipelineRun.measure(bench, ids, workers=workers, encoding=encoding)


def live_frames(images: Sequence[Image], fps: float) -> Iterator[SourceFrame]:
    """``images`` as a camera at ``fps`` delivers them, stamped when each is due."""
    last = len(images) - 1
    for index, image in enumerate(paced(images, fps)):
        yield SourceFrame(index, image, is_last=index == last, captured_at=time.time())


def run_live(settings: Settings, frames: Sequence[Image], work_dir: Path) -> PipelineRun:
    """One stream published at 10 frames/s to a worker that is already running."""
    with bench_pipeline(settings, work_dir) as bench:
        pipeline = bench.pipeline
        start_workers(pipeline, 1, work_dir)
        sessions = pipeline.services.sessions

        def publish(stream_id: str, frames: Iterable[SourceFrame]) -> str:
            return publish_job(
                pipeline.settings,
                pipeline.bootstrap,
                sessions,
                stream_id=stream_id,
                kind="synthetic",
                source="benchmark",
                frames=frames,
            ).job_id

        # A few frames first, so the worker has loaded its models and joined its group.
        pipeline.wait_for_jobs([publish("warm-up", flag_last(frames[:4]))], timeout=600)
        job = publish("live", live_frames(frames, LATENCY_FPS))
        pipeline.wait_for_jobs([job], timeout=600)
        return PipelineRun.measure(bench, ["live"], workers=1, encoding=FileEncoding.JPEG)


@dataclass(frozen=True, slots=True)
class Report:
    host: HostCpu
    frames: int
    throughput: list[Throughput]
    pipelines: list[PipelineRun]
    scaling: list[PipelineRun]
    live: PipelineRun
    ratios: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        def rates(run: Throughput | PipelineRun) -> dict[str, float]:
            return {
                "fps": round(run.fps, 2),
                "cores": round(run.cores, 2),
                "cpu_ms_per_frame": round(run.cpu_ms_per_frame, 2),
            }

        return {
            "host": asdict(self.host),
            "frames": self.frames,
            "throughput": [asdict(t) | rates(t) for t in self.throughput],
            "pipelines": [asdict(p) | rates(p) for p in self.pipelines],
            "scaling": [asdict(p) | rates(p) for p in self.scaling],
            "live": asdict(self.live),
            "ratios": self.ratios,
            "targets": TARGETS,
        }


def run(frames: int, latency_frames: int, scratch: Path, settings: Settings) -> Report:
    configure_ultralytics(scratch / "ultralytics")
    base = settings.model_copy(update={"data_dir": scratch, "worker_metrics_port": 0})
    video = scratch / "scene.mp4"
    images = write_scene_video(video, frames)
    backends = {
        "torch": base.model_copy(update=_torch),
        "openvino": base.model_copy(update=_openvino | _f32),
        "openvino-int8": base.model_copy(update=_openvino | _int8),
    }
    throughput = []
    pipelines = []
    as_jpeg = []  # for context: the same jobs as JPEG frames
    for name, backend in backends.items():
        # The pipeline right after the direct loop it is compared with: the host's speed
        # drifts over minutes.
        throughput.extend(time_direct(backend, video, images))
        pipelines.append(run_backlog(backend, video, scratch / f"one-{name}", streams=1, workers=1))
        throughput.append(time_ultralytics_track(backend, video, len(images)))
        as_jpeg.append(
            run_backlog(
                backend,
                video,
                scratch / f"one-{name}-jpeg",
                streams=1,
                workers=1,
                encoding=FileEncoding.JPEG,
            )
        )
    torch = backends["torch"]
    scaling = [
        run_backlog(torch, video, scratch / "four-one-worker", streams=4, workers=1),
        run_backlog(torch, video, scratch / "four-two-workers", streams=4, workers=2),
        # For context: one stream on the same two one-thread workers. A stream is tracked
        # on one worker, so the other waits for streams of its own.
        run_backlog(torch, video, scratch / "one-two-workers", streams=1, workers=2),
    ]
    live = run_live(torch, images[:latency_frames], scratch / "live")

    def row(what: str, backend: str) -> Throughput:
        return next(t for t in throughput if (t.what, t.backend) == (what, backend))

    def fps(what: str, backend: str) -> float:
        return row(what, backend).fps

    one = {p.backend: p.fps for p in pipelines}
    ratios = {
        "pipeline_vs_direct_torch": one["torch"] / fps("direct", "torch"),
        "pipeline_vs_direct_openvino": one["openvino"] / fps("direct", "openvino"),
        "pipeline_vs_direct_openvino_int8": one["openvino-int8"] / fps("direct", "openvino-int8"),
        "pipeline_torch_vs_track_torch": one["torch"] / fps("ultralytics track", "torch"),
        "pipeline_openvino_vs_track_torch": one["openvino"] / fps("ultralytics track", "torch"),
        "pipeline_openvino_vs_track_openvino": one["openvino"]
        / fps("ultralytics track", "openvino"),
        "pipeline_openvino_int8_vs_track_torch": one["openvino-int8"]
        / fps("ultralytics track", "torch"),
        "pipeline_openvino_int8_vs_track_openvino_int8": one["openvino-int8"]
        / fps("ultralytics track", "openvino-int8"),
        "four_streams_one_worker_vs_one": scaling[0].fps / one["torch"],
        "four_streams_two_workers_vs_one": scaling[1].fps / one["torch"],
        "four_streams_vs_one_both_on_two_workers": scaling[1].fps / scaling[2].fps,
    }
    for p, jpeg in zip(pipelines, as_jpeg, strict=True):  # for context
        label = p.backend.replace("-", "_")
        ratios[f"pipeline_jpeg_frames_vs_direct_{label}"] = jpeg.fps / fps("direct", p.backend)
        ratios[f"pipeline_vs_direct_in_memory_{label}"] = p.fps / fps(
            "direct, frames in memory", p.backend
        )
        ratios[f"pipeline_vs_direct_cpu_per_frame_{label}"] = (
            p.cpu_ms_per_frame / row("direct", p.backend).cpu_ms_per_frame
        )
    return Report(
        this_host(),
        len(images),
        throughput,
        [*pipelines, *as_jpeg],
        scaling,
        live,
        {k: round(v, 2) for k, v in ratios.items()},
    )


def render(report: Report) -> str:
    lines = [
        f"host: {report.host.describe()}",
        f"generated scene 640x480, {report.frames} frames, sample detector at its size",
    ]
    lines.append(
        f"{'run':<42} {'backend':<13} {'frames':>6} {'frames/s':>9} {'cores':>6} "
        f"{'CPU ms/frame':>12}"
    )
    for t in report.throughput:
        lines.append(
            f"{t.what:<42} {t.backend:<13} {t.frames:>6} {t.fps:>9.2f} {t.cores:>6.2f} "
            f"{t.cpu_ms_per_frame:>12.1f}"
        )
    for p in [*report.pipelines, *report.scaling]:
        what = f"pipeline {p.streams} stream(s), {p.workers} worker(s), {p.encoding}"
        split = ", ".join(f"{c.role} {c.ms_per_frame(p.frames):.1f}" for c in p.cpu)
        lines.append(
            f"{what:<42} {p.backend:<13} {p.frames:>6} {p.fps:>9.2f} {p.cores:>6.2f} "
            f"{p.cpu_ms_per_frame:>12.1f}  ({split})"
        )
    live = report.live
    lines.append(
        f"latency at {LATENCY_FPS:.0f} frames/s, capture to ClickHouse row: "
        f"p50 {live.latency_p50_s * 1000:.0f} ms, p95 {live.latency_p95_s * 1000:.0f} ms "
        f"({live.frames} frames); of which to tracked by the worker: "
        f"p50 {live.processed_p50_s * 1000:.0f} ms, p95 {live.processed_p95_s * 1000:.0f} ms"
    )
    peaks = [m for p in [*report.pipelines, *report.scaling, live] for m in p.peak_rss_mb]
    lines.append(f"worker peak RSS: {min(peaks):.0f}-{max(peaks):.0f} MB")
    lines.append("ratios (target):")
    for name, value in report.ratios.items():
        target = TARGETS.get(name)
        lines.append(f"  {name:<48} {value:>5.2f}" + (f"  (>= {target})" if target else ""))
    return "\n".join(lines) + "\n"


def median_ratios(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each ratio's median over rounds, every round's ratio measured side by side in it.

    The host's speed drifts while a round measures its rows one after another (minutes
    apart), so one round's ratio can be off by a tenth either way; the median of a few
    rounds is steadier.
    """
    if not rounds:
        raise ValueError("no rounds to take the median of")
    return {name: round(statistics.median(r[name] for r in rounds), 2) for name in rounds[0]}


def render_medians(medians: Mapping[str, float], rounds: int) -> str:
    lines = [f"median ratios of {rounds} rounds (target):"]
    for name, value in medians.items():
        target = TARGETS.get(name)
        lines.append(f"  {name:<48} {value:>5.2f}" + (f"  (>= {target})" if target else ""))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--latency-frames", type=int, default=150)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="whole runs, one after another; with more than one, each ratio's median too",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one run's report; with --rounds > 1, {rounds: [reports], median_ratios}",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    reports = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="visiontrack-bench-") as scratch:
            reports.append(run(args.frames, args.latency_frames, Path(scratch), Settings()))
        if not args.json:
            sys.stdout.write(render(reports[-1]))
            sys.stdout.flush()
    medians = median_ratios([r.ratios for r in reports])
    if args.json:
        whole: object = reports[0].to_dict()
        if args.rounds > 1:
            whole = {"rounds": [r.to_dict() for r in reports], "median_ratios": medians}
        sys.stdout.write(json.dumps(whole, indent=2) + "\n")
    elif args.rounds > 1:
        sys.stdout.write(render_medians(medians, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
