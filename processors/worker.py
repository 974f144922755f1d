"""Composition root of the worker process: model, embedder, Faust app, then run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from processors.detection.detector import (
    UNTRAINED_DEFAULTS,
    YoloDetector,
    detection_defaults,
    load_yolo,
    resolve_model_ref,
)
from processors.detection.export import (
    DetectorBackend,
    Int8Calibration,
    backend_of,
    exported_detector,
)
from processors.detection.ultralytics_env import configure_ultralytics
from processors.metrics import WorkerMetrics
from processors.pipeline.frame_processor import FrameProcessor
from processors.pipeline.rules_source import RulesSource
from processors.threads import single_threaded_blas, single_threaded_torch, torch_runs_a_network
from processors.tracking.embedder import load_embedder
from processors.tracking.tracker import StreamTracker
from visiontrack.db import create_db_engine, refuse_a_schema_behind, session_factory
from visiontrack.gc_freeze import freeze_loaded_objects
from visiontrack.metrics_server import serve_metrics
from visiontrack.settings import Settings

__all__ = ["build_processor", "run_worker"]

log = logging.getLogger(__name__)


def build_processor(
    settings: Settings, on_batch: Callable[[int, dict[str, float]], None] | None = None
) -> FrameProcessor:
    """Load the detector and embedder named by the settings (fails fast on a bad model);
    ``on_batch`` hears of each batch's size and stage times."""
    configure_ultralytics(settings.data_dir / "ultralytics")
    single_threaded_blas()
    if not torch_runs_a_network(settings.detector_backend, settings.embedder_backend):
        single_threaded_torch()
        log.info(
            "torch kept to one thread: the detector and the embedder run in %s and %s",
            settings.detector_backend,
            settings.embedder_backend,
        )
    model = resolve_model_ref(settings.model)
    defaults = detection_defaults(model)
    if defaults is UNTRAINED_DEFAULTS:
        log.warning("model %s has random weights: detections are for plumbing only", model)
    runnable = exported_detector(
        model,
        DetectorBackend(settings.detector_backend),
        settings.data_dir / "models",
        settings.model_imgsz,
        int8=Int8Calibration.of(settings),
    )
    log.info(
        "detector %s (%s backend)",
        runnable.ref,
        backend_of(runnable.ref).value,
        extra={"imgsz": runnable.imgsz},
    )
    detector = YoloDetector(
        load_yolo(runnable.ref),
        confidence=settings.model_confidence or defaults.confidence,
        imgsz=runnable.imgsz,
        max_detections=settings.model_max_detections or defaults.max_detections,
        device=settings.device,
    )
    embedder = load_embedder(
        settings.embedder,
        settings.embedder_backend,
        settings.data_dir,
        int8=settings.embedder_int8,
    )
    cosine_gate = settings.tracker_max_cosine_distance or embedder.max_cosine_distance
    track_confidence = settings.tracker_min_confidence
    if track_confidence is None:
        track_confidence = defaults.track_confidence
    return FrameProcessor(
        detector,
        embedder,
        lambda stream_id: StreamTracker(
            max_age=settings.tracker_max_age,
            n_init=settings.tracker_n_init,
            max_cosine_distance=cosine_gate,
            gating_only_position=settings.tracker_gating_only_position,
            gallery_budget=settings.tracker_gallery_budget,
            appearance=not settings.motion_only(stream_id),
        ),
        track_confidence=defaults.track_confidence
        if track_confidence is None
        else track_confidence,
        batch_size=settings.batch_max_frames,
        snapshot_every=settings.tracker_snapshot_every_frames,
        on_batch=on_batch,
    )


def _log_warm_up(done: Future[float]) -> None:
    if done.cancelled():  # stopped before it ran
        return
    error = done.exception()
    if error is not None:
        log.error("model warm-up failed: %s", error, exc_info=error)
    else:
        log.info("models warmed up in %.1f s", done.result())


def run_worker(settings: Settings, bootstrap: str) -> int:
    """Run the Faust worker until SIGTERM/SIGINT; returns the exit code."""
    import faust

    from processors.app import create_app

    refuse_a_schema_behind(settings.sqlalchemy_url)  # it reads stream rules, writes jobs
    metrics = WorkerMetrics(group=settings.worker_id)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
    # Loaded on the thread that runs it: torch's OpenMP pool belongs to the thread that
    # first uses it, and a second pool (one per thread that ran torch) cost the frame loop
    # up to a quarter of its speed on 2 cores.
    processor = executor.submit(build_processor, settings, metrics.observe_batch).result()
    serve_metrics(metrics.registry, settings.worker_metrics_host, settings.worker_metrics_port)
    engine = create_db_engine(settings.sqlalchemy_url)
    rules = RulesSource(session_factory(engine))
    rules.reload()  # then on the app's timer
    app = create_app(settings, bootstrap, processor, executor, rules=rules, metrics=metrics)
    # On a one-stream OpenVINO run, a full collection of 220-260 ms every ~400 frames
    # before, one of ~60 ms every ~1,200 frames frozen.
    freeze_loaded_objects()
    # While the worker joins its group (5 s on the bundled broker), not on its first batch.
    executor.submit(processor.warm_up).add_done_callback(_log_warm_up)
    log.info("worker starting", extra={"bootstrap": bootstrap})
    worker = faust.Worker(app, loglevel=settings.log_level, override_logging=False, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        engine.dispose()
