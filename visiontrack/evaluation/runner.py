"""``visiontrack eval tracking``: the detector and tracker scored on generated scenes.

Two ways to run the same detector and tracker on the same JPEG-encoded frames:

* ``pipeline``: every scene is published as a job through Kafka, processed by a Faust worker
  process, written by the sink to ClickHouse, and read back from ClickHouse;
* ``direct``: the frame processor is called in a loop in this process.

The two must agree: the pipeline loses and adds nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from producers.frames import encode_frame, flag_last
from producers.synthetic.config import CLASS_NAMES, SceneConfig
from producers.synthetic.scene import SceneGenerator
from visiontrack.evaluation.collect import (
    SceneResult,
    from_frame_tracks,
    from_stored_frames,
    ground_truth_rows,
)
from visiontrack.evaluation.detection_map import map50
from visiontrack.evaluation.rows import BoxRows
from visiontrack.evaluation.tracking_metrics import TrackingScores, evaluate_tracking
from visiontrack.settings import Settings

__all__ = ["EvalPlan", "EvalReport", "run_evaluation"]

log = logging.getLogger(__name__)

Mode = Literal["pipeline", "direct"]


@dataclass(frozen=True, slots=True)
class EvalPlan:
    first_seed: int = 0
    scenes: int = 10
    frames: int = 300
    width: int = 640
    height: int = 480
    min_visibility: float = 0.25

    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.scenes))

    def scene(self, seed: int) -> SceneGenerator:
        return SceneGenerator(
            seed, SceneConfig(width=self.width, height=self.height, num_frames=self.frames)
        )


@dataclass(frozen=True, slots=True)
class EvalReport:
    mode: Mode
    plan: EvalPlan
    tracking: TrackingScores
    map50: float
    frames: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        t = self.tracking
        return {
            "mode": self.mode,
            "scenes": self.plan.scenes,
            "seeds": self.plan.seeds(),
            "frames": self.frames,
            "HOTA": round(t.hota, 4),
            "MOTA": round(t.mota, 4),
            "IDF1": round(t.idf1, 4),
            "ID_switches": t.id_switches,
            "DetA": round(t.deta, 4),
            "AssA": round(t.assa, 4),
            "MOTP": round(t.motp, 4),
            "mAP50": round(self.map50, 4),
            "gt_boxes": t.gt_dets,
            "tracked_boxes": t.tracker_dets,
            "min_visibility": self.plan.min_visibility,
            "duration_s": round(self.duration_s, 1),
            "fps": round(self.frames / self.duration_s, 2) if self.duration_s else None,
            "plan": asdict(self.plan),
        }


def _run_direct(settings: Settings, plan: EvalPlan) -> list[SceneResult]:
    from processors.worker import build_processor

    processor = build_processor(settings)
    results = []
    for seed in plan.seeds():
        stream_id, source = f"eval-{seed}", f"synthetic://seed/{seed}"
        frames = flag_last(f.image for f in plan.scene(seed).frames())
        processed = [
            processor.process(
                encode_frame(
                    frame,
                    stream_id=stream_id,
                    first_frame_no=0,
                    source=source,
                    job_id=None,
                    jpeg_quality=settings.jpeg_quality,
                )
            )
            for frame in frames
        ]
        results.append(from_frame_tracks(processed, first_frame_no=0))
    return results


def _run_pipeline(settings: Settings, plan: EvalPlan, work_dir: Path) -> list[SceneResult]:
    from infra.broker import BundledBroker
    from infra.local_pipeline import LocalPipeline, isolated_settings
    from producers.jobs import publish_job

    broker = None if settings.kafka_bootstrap_servers else BundledBroker()
    if broker is not None:
        broker.start()
    try:
        bootstrap = settings.kafka_bootstrap_servers or broker.bootstrap_servers  # type: ignore[union-attr]
        local_settings = isolated_settings(settings, work_dir, bootstrap, name="eval")
        with LocalPipeline(local_settings, bootstrap, work_dir / "logs") as pipeline:
            sessions = pipeline.services.sessions
            jobs = {}
            for seed in plan.seeds():
                job = publish_job(
                    local_settings,
                    bootstrap,
                    sessions,
                    stream_id=f"eval-{seed}",
                    kind="synthetic",
                    source=f"synthetic://seed/{seed}",
                    frames=flag_last(f.image for f in plan.scene(seed).frames()),
                )
                jobs[seed] = job
            timeout = 600 + 2.0 * plan.frames * plan.scenes
            pipeline.wait_for_jobs([j.job_id for j in jobs.values()], timeout)
            store = pipeline.services.store
            return [
                from_stored_frames(store.stream_frames(j.stream_id), j.first_frame_no)
                for j in jobs.values()
            ]
    finally:
        if broker is not None:
            broker.stop()


def run_evaluation(settings: Settings, plan: EvalPlan, mode: Mode, work_dir: Path) -> EvalReport:
    """Run ``plan`` in ``mode``; ``work_dir`` holds the pipeline's own stores and logs."""
    started = time.monotonic()
    if mode == "direct":
        results = _run_direct(settings, plan)
    else:
        results = _run_pipeline(settings, plan, work_dir)
    duration = time.monotonic() - started
    truth: list[BoxRows] = [
        ground_truth_rows(plan.scene(seed).ground_truth()) for seed in plan.seeds()
    ]
    n = plan.frames
    tracking = evaluate_tracking(
        [(gt, r.tracks, n) for gt, r in zip(truth, results, strict=True)],
        min_visibility=plan.min_visibility,
    )
    detection = map50(
        [
            (gt.subset(gt.scores >= plan.min_visibility), r.detections, n)
            for gt, r in zip(truth, results, strict=True)
        ],
        num_classes=len(CLASS_NAMES),
    )
    return EvalReport(mode, plan, tracking, detection, n * plan.scenes, duration)
