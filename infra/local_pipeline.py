"""A whole pipeline in and beside this process, for evaluations and integration tests.

Migrations and topics first, then a Faust worker process (as in production) and, in this
process, the analytics store and sink (this process owns the embedded ClickHouse). Stops
in reverse. Unlike ``visiontrack up`` it runs no API or dashboard and writes no run state,
so it can run beside a stack with its own data dir and topics.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from api.services import ApiServices, start_services
from infra.orphan_guard import guarded
from infra.topics import ensure_topics
from schemas.db import Job
from schemas.jobs import JobState
from visiontrack import repository
from visiontrack.db import create_db_engine, migrate
from visiontrack.settings import Settings

__all__ = ["LocalPipeline", "PipelineError"]


class PipelineError(RuntimeError):
    """The worker died or a job did not finish in time."""


class LocalPipeline:
    def __init__(self, settings: Settings, bootstrap: str, log_dir: Path) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.worker_log = log_dir / "worker.log"
        self._worker: subprocess.Popen[bytes] | None = None
        self._services: ApiServices | None = None

    @property
    def services(self) -> ApiServices:
        if self._services is None:
            raise PipelineError("the pipeline is not running")
        return self._services

    def start(self) -> None:
        engine = create_db_engine(self.settings.sqlalchemy_url)
        migrate(engine)
        engine.dispose()
        ensure_topics(self.settings, self.bootstrap)
        self.start_worker()
        self._services = start_services(self.settings, self.bootstrap)

    def stop(self) -> None:
        if self._services is not None:
            self._services.stop()
            self._services = None
        self.stop_worker()

    def __enter__(self) -> LocalPipeline:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # The worker -----------------------------------------------------------------------

    def start_worker(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONTRACK_")}
        env |= self.settings.to_env() | {"VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        self.worker_log.parent.mkdir(parents=True, exist_ok=True)
        with self.worker_log.open("ab") as out:
            self._worker = subprocess.Popen(
                guarded([sys.executable, "-m", "visiontrack.cli", "worker"]),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop_worker(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the worker and wait; its exit code (None if none ran)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return None
        worker.terminate()
        try:
            return worker.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            return worker.wait()

    def worker_log_tail(self, chars: int = 3000) -> str:
        return self.worker_log.read_text(errors="replace")[-chars:]

    def check_worker(self) -> None:
        if self._worker is not None and self._worker.poll() is not None:
            raise PipelineError(
                f"worker exited with {self._worker.returncode}:\n{self.worker_log_tail()}"
            )

    # Jobs -----------------------------------------------------------------------------

    def wait_for_jobs(self, job_ids: list[str], timeout: float) -> dict[str, Job]:
        """Block until every job is done or failed; raises :class:`PipelineError` on timeout."""
        deadline = time.monotonic() + timeout
        pending = set(job_ids)
        finished: dict[str, Job] = {}
        while pending:
            self.check_worker()
            with self.services.sessions() as session:
                for job_id in list(pending):
                    job = repository.get_job(session, job_id)
                    if job is not None and job.state in (JobState.DONE, JobState.FAILED):
                        finished[job_id] = job
                        pending.discard(job_id)
            if pending and time.monotonic() > deadline:
                raise PipelineError(f"jobs not finished after {timeout:.0f}s: {sorted(pending)}")
            if pending:
                time.sleep(0.5)
        return finished
