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
import uuid
from pathlib import Path
from types import TracebackType

from api.services import ApiServices, start_services
from infra.orphan_guard import guarded
from infra.topics import ensure_topics
from schemas.db import Job
from schemas.jobs import JobState
from visiontrack import repository
from visiontrack.db import create_db_engine, migrate
from visiontrack.settings import Settings, TopicNames

__all__ = ["LocalPipeline", "PipelineError", "isolated_settings"]


def isolated_settings(settings: Settings, work_dir: Path, bootstrap: str, *, name: str) -> Settings:
    """Settings for a pipeline of its own: data dir, topics, groups, SQLite, and a ClickHouse
    database of its own (on the configured server, else in an embedded engine in ``work_dir``).
    ``name`` starts every name, so a run's topics and groups tell what made them.
    """
    run = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "data_dir": work_dir,
            "kafka_bootstrap_servers": bootstrap,
            "clickhouse_dsn": settings.clickhouse_dsn or f"chdb://{work_dir / 'analytics'}",
            "clickhouse_database": f"{name}_{run}",
            "database_url": f"sqlite:///{work_dir / (name + '.db')}",
            "topics": TopicNames.model_validate(
                {topic: f"{name}-{run}-{topic}" for topic in TopicNames.model_fields}
            ),
            "worker_id": f"{name}-worker-{run}",
            "sink_group_id": f"{name}-sink-{run}",
            "dashboard_enabled": False,
        }
    )


class PipelineError(RuntimeError):
    """The worker died or a job did not finish in time."""


class LocalPipeline:
    def __init__(self, settings: Settings, bootstrap: str, log_dir: Path) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self._log_dir = log_dir
        self._workers: dict[str, subprocess.Popen[bytes]] = {}
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
        for name in list(self._workers):
            self.stop_worker(name)

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

    def worker_log(self, name: str = "worker") -> Path:
        return self._log_dir / f"{name}.log"

    def start_worker(self, name: str = "worker", **overrides: str) -> None:
        """Start a worker process; ``overrides`` are extra ``VISIONTRACK_*`` variables.

        Workers of one pipeline share its consumer group, so a second one takes over some of
        the partitions (and with them their streams) from the first.
        """
        if name in self._workers:
            raise PipelineError(f"worker {name!r} is already running")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONTRACK_")}
        env |= self.settings.to_env() | {"VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        env |= overrides
        log = self.worker_log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self._workers[name] = subprocess.Popen(
                guarded([sys.executable, "-m", "visiontrack.cli", "worker"]),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop_worker(self, name: str = "worker", timeout: float = 30.0) -> int | None:
        """SIGTERM the worker and wait; its exit code (None if none ran)."""
        worker = self._workers.pop(name, None)
        if worker is None:
            return None
        worker.terminate()
        try:
            return worker.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            return worker.wait()

    def wait_for_exit(self, name: str = "worker", timeout: float = 60.0) -> int:
        """Wait until the worker exits on its own; its exit code."""
        worker = self._workers[name]
        code = worker.wait(timeout)
        del self._workers[name]
        return code

    def worker_pids(self) -> dict[str, int]:
        """The process id of each running worker, by name."""
        return {name: worker.pid for name, worker in self._workers.items()}

    def kill_worker(self, name: str = "worker") -> int:
        """SIGKILL the worker, as a crash would end it; its exit code."""
        worker = self._workers.pop(name)
        worker.kill()
        return worker.wait()

    def worker_log_tail(self, name: str = "worker", chars: int = 3000) -> str:
        return self.worker_log(name).read_text(errors="replace")[-chars:]

    def check_worker(self) -> None:
        """Raise :class:`PipelineError` if a worker exited without being stopped."""
        for name, worker in self._workers.items():
            if worker.poll() is not None:
                raise PipelineError(
                    f"worker {name!r} exited with {worker.returncode}:\n"
                    f"{self.worker_log_tail(name)}"
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
