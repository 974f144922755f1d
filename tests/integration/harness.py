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
    api: TestClient
    store: AnalyticsStore
    sessions: sessionmaker[Session]
    worker: subprocess.Popen[bytes]
    worker_log: Path

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


@contextmanager
def running_pipeline(settings: Settings, bootstrap: str, log_dir: Path) -> Iterator[Pipeline]:
    engine = create_db_engine(settings.sqlalchemy_url)
    migrate(engine)
    ensure_topics(settings, bootstrap)
    env = settings.to_env() | {"VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    env |= {k: v for k, v in os.environ.items() if not k.startswith("VISIONTRACK_")}
    log_dir.mkdir(parents=True, exist_ok=True)
    worker_log = log_dir / "worker.log"
    with worker_log.open("ab") as out:
        worker = subprocess.Popen(
            guarded([sys.executable, "-m", "visiontrack.cli", "worker"]),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    store = AnalyticsStore(connect_analytics(settings.analytics_dsn), settings.clickhouse_database)
    try:
        with TestClient(create_app(settings, bootstrap)) as api:
            yield Pipeline(
                settings, bootstrap, api, store, session_factory(engine), worker, worker_log
            )
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        engine.dispose()
