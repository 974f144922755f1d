"""``visiontrack demo``: the stack on embedded defaults with a sample video through it."""

from __future__ import annotations

import json
import logging
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from infra.supervisor import Stack
from producers.file_job import publish_file
from schemas.jobs import JobState
from visiontrack.db import create_db_engine, session_factory
from visiontrack.samples import bikes_video
from visiontrack.settings import Settings

__all__ = ["run_demo", "wait_for_job"]

log = logging.getLogger(__name__)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def wait_for_job(api_url: str, job_id: str, timeout: float, stack: Stack) -> dict[str, Any]:
    """Poll the API until the job is done or failed; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = _get_json(f"{api_url}/v1/jobs/{job_id}")
        if job["state"] in (JobState.DONE, JobState.FAILED):
            return job
        if stack.wait_or_stop(1.0):
            raise KeyboardInterrupt
    raise TimeoutError(f"job {job_id} not done after {timeout:.0f}s")


def run_demo(settings: Settings, video: Path | None, stream_id: str, serve: bool) -> int:
    video = video or bikes_video()
    stack = Stack(settings)
    stack.install_signal_handlers()
    state = stack.start()
    try:
        _say(f"VisionTrack is up. API {state.api_url}/docs  dashboard {state.dashboard_url}")
        engine = create_db_engine(settings.sqlalchemy_url)
        _say(f"Publishing {video} on stream {stream_id!r} ...")
        result = publish_file(
            settings, state.bootstrap, session_factory(engine), path=video, stream_id=stream_id
        )
        started = time.monotonic()
        job = wait_for_job(state.api_url, result.job_id, 1800, stack)
        elapsed = time.monotonic() - started
        engine.dispose()
        summary = _get_json(f"{state.api_url}/v1/jobs/{result.job_id}/summary")
        _say("")
        _say(
            f"Job {job['id']}: {job['state']}, {job['frames_processed']}/{job['total_frames']} "
            f"frames in {elapsed:.1f}s ({job['frames_processed'] / max(elapsed, 1e-9):.1f} fps)"
        )
        _say(f"  frames in ClickHouse: {summary['frames']}")
        _say(f"  confirmed tracks:     {summary['tracks']}")
        for name, count in summary["class_counts"].items():
            _say(f"    {name:<16} {count}")
        _say("")
        _say(
            f"API        {state.api_url}  (docs {state.api_url}/docs, job "
            f"{state.api_url}/v1/jobs/{result.job_id})"
        )
        if state.dashboard_url:
            _say(f"Dashboard  {state.dashboard_url}")
        if not serve:
            return 0 if job["state"] == JobState.DONE else 1
        _say("Serving until Ctrl-C.")
        return stack.wait()
    finally:
        stack.stop()
