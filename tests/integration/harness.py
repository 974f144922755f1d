"""A pipeline on real components for integration tests.

The Faust worker runs as its own process (``visiontrack worker``), as in production.
The API runs in the test process with its analytics sink, because the test process owns
the chDB data directory (one owner per directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from infra.orphan_guard import guarded
from infra.topics import ensure_topics
from visiontrack.analytics_store import AnalyticsStore, connect_analytics
from visiontrack.db import create_db_engine, migrate, session_factory
from visiontrack.settings import Settings


@dataclass
class Pipeline:
    settings: Settings
    bootstrap: str
    _api: TestClient | None
    store: AnalyticsStore
    sessions: sessionmaker[Session]
    worker_env: dict[str, str]
    worker_log: Path
    _worker: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> TestClient:
        assert self._api is not None, "the API is not running"
        return self._api

    @api.setter
    def api(self, client: TestClient) -> None:
        self._api = client

    @property
    def worker(self) -> subprocess.Popen[bytes]:
        assert self._worker is not None, "no worker runs"
        return self._worker

    def start_worker(self) -> None:
        self._worker = _start_worker(self.worker_env, self.worker_log)

    def stop_worker(self) -> int | None:
        """SIGTERM the worker; its exit code (None if none ran)."""
        worker, self._worker = self._worker, None
        return None if worker is None else _stop_worker(worker)

    def worker_log_tail(self) -> str:
        return self.worker_log.read_text(errors="replace")[-3000:]

    def wait_for_job(self, job_id: str, timeout: float = 420.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            assert self.worker.poll() is None, f"worker died:\n{self.worker_log_tail()}"
            resp = self.api.get(f"/v1/jobs/{job_id}")
            assert resp.status_code == 200, resp.text
            job = resp.json()
            if job["state"] in ("done", "failed"):
                return job
            time.sleep(0.5)
        raise AssertionError(f"job not done in {timeout}s: {job}\n{self.worker_log_tail()}")


def read_topic(
    bootstrap: str, topic: str, quiet_s: float = 4.0, limit_s: float = 60.0
) -> list[Any]:
    """Every record of ``topic`` from the start, read until nothing new comes for ``quiet_s``.

    Watermarks are not used: the bundled broker reports them wrongly for batched writes.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    records: list[Any] = []
    deadline = time.monotonic() + limit_s
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline and time.monotonic() - last_new < quiet_s:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            records.append(msg)
            last_new = time.monotonic()
    finally:
        consumer.close()
    return records


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            guarded([sys.executable, "-m", "visiontrack.cli", "worker"]),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop_worker(worker: subprocess.Popen[bytes]) -> int:
    worker.terminate()
    try:
        return worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.wait()


@contextmanager
def running_pipeline(settings: Settings, bootstrap: str, log_dir: Path) -> Iterator[Pipeline]:
    engine = create_db_engine(settings.sqlalchemy_url)
    migrate(engine)
    ensure_topics(settings, bootstrap)
    env = settings.to_env() | {"VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    env |= {k: v for k, v in os.environ.items() if not k.startswith("VISIONTRACK_")}
    log_dir.mkdir(parents=True, exist_ok=True)
    worker_log = log_dir / "worker.log"
    store = AnalyticsStore(connect_analytics(settings.analytics_dsn), settings.clickhouse_database)
    pipeline = Pipeline(settings, bootstrap, None, store, session_factory(engine), env, worker_log)
    pipeline.start_worker()
    try:
        with TestClient(create_app(settings, bootstrap)) as api:
            pipeline.api = api
            yield pipeline
    finally:
        pipeline.stop_worker()
        engine.dispose()
