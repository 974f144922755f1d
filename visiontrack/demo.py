"""``visiontrack demo``: the stack on embedded defaults with sample streams through it.

Two streams at once: a generated street scene streamed live at its frame rate, as a camera
would, and the ``bikes.mp4`` clip published as a file job.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.supervisor import Stack
from producers.jobs import JobResult, publish_file
from producers.synthetic import SceneConfig
from producers.synthetic_job import publish_scene
from schemas.jobs import JobState
from visiontrack.db import create_db_engine, session_factory
from visiontrack.samples import bikes_video
from visiontrack.settings import Settings

__all__ = ["DemoPlan", "run_demo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoPlan:
    video: Path | None = None
    video_stream: str = "demo-bikes"
    scene_seed: int = 7
    scene_frames: int = 150
    scene_stream: str = "demo-street"
    serve: bool = True


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _wait_for_job(api_url: str, job_id: str, timeout: float, stack: Stack) -> dict[str, Any]:
    """Poll the API until the job is done or failed; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = _get_json(f"{api_url}/v1/jobs/{job_id}")
        if job["state"] in (JobState.DONE, JobState.FAILED):
            return job
        if stack.wait_or_stop(1.0):
            raise KeyboardInterrupt
    raise TimeoutError(f"job {job_id} not done after {timeout:.0f}s")


def _report(api_url: str, title: str, job: dict[str, Any]) -> None:
    summary = _get_json(f"{api_url}/v1/jobs/{job['id']}/summary")
    _say(f"{title} (stream {job['stream_id']}, job {job['id']}): {job['state']}")
    _say(f"  frames processed   {job['frames_processed']}/{job['total_frames']}")
    _say(f"  frames stored      {summary['frames']}")
    _say(f"  confirmed tracks   {summary['tracks']}")
    for name, count in summary["class_counts"].items():
        _say(f"    {name:<16} {count}")


def run_demo(settings: Settings, plan: DemoPlan) -> int:
    video = plan.video or bikes_video()
    stack = Stack(settings)
    stack.install_signal_handlers()
    state = stack.start()
    engine = create_db_engine(settings.sqlalchemy_url)
    sessions = session_factory(engine)
    try:
        _say(f"VisionTrack is up. API {state.api_url}/docs  dashboard {state.dashboard_url}")
        _say(
            f"Streaming scene {plan.scene_seed} live on {plan.scene_stream!r} and publishing "
            f"{video.name} on {plan.video_stream!r} ..."
        )
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-producer") as pool:
            scene: Future[JobResult] = pool.submit(
                publish_scene,
                settings,
                state.bootstrap,
                sessions,
                seed=plan.scene_seed,
                stream_id=plan.scene_stream,
                config=SceneConfig(num_frames=plan.scene_frames),
                live=True,
            )
            clip: Future[JobResult] = pool.submit(
                publish_file,
                settings,
                state.bootstrap,
                sessions,
                path=video,
                stream_id=plan.video_stream,
            )
            published = [("Live street scene", scene.result()), (video.name, clip.result())]
        jobs = [
            (title, _wait_for_job(state.api_url, r.job_id, 1800, stack)) for title, r in published
        ]
        elapsed = time.monotonic() - started
        frames = sum(job["frames_processed"] for _, job in jobs)
        _say()
        _say(
            f"{frames} frames of {len(jobs)} streams through the pipeline in {elapsed:.1f}s "
            f"({frames / max(elapsed, 1e-9):.1f} frames/s on this machine)"
        )
        for title, job in jobs:
            _report(state.api_url, title, job)
        _say()
        _say(
            f"API        {state.api_url}  (docs {state.api_url}/docs, jobs {state.api_url}/v1/jobs)"
        )
        if state.dashboard_url:
            _say(f"Dashboard  {state.dashboard_url}")
        ok = all(job["state"] == JobState.DONE for _, job in jobs)
        if not plan.serve:
            return 0 if ok else 1
        _say("Serving until Ctrl-C.")
        return stack.wait()
    finally:
        engine.dispose()
        stack.stop()
