"""A pipeline on real components for integration tests, with the API in front of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from infra.local_pipeline import LocalPipeline
from tests.kafka_reading import earliest_consumer
from visiontrack.settings import Settings


@dataclass
class Pipeline:
    """:class:`LocalPipeline` plus a test client of the API serving its stores."""

    local: LocalPipeline
    api: TestClient

    @property
    def settings(self) -> Settings:
        return self.local.settings

    @property
    def bootstrap(self) -> str:
        return self.local.bootstrap

    def wait_for_job(self, job_id: str, timeout: float = 420.0) -> dict[str, Any]:
        """The job as ``GET /v1/jobs/{id}`` shows it once done or failed."""
        self.local.wait_for_jobs([job_id], timeout)
        resp = self.api.get(f"/v1/jobs/{job_id}")
        assert resp.status_code == 200, resp.text
        job: dict[str, Any] = resp.json()
        return job


def read_topic(bootstrap: str, topic: str, quiet_s: float = 2.0, limit_s: float = 60) -> list[Any]:
    """Every record of ``topic`` from the start, read until nothing new comes for ``quiet_s``.

    Watermarks are not used: the bundled broker reports them wrongly for batched writes.
    The tests read once what they wait for is done, so what they read is on the broker
    already (its producers awaited the broker's acknowledgements): assigned the partitions,
    a reader gets 300 records in 0.05 s, and ``quiet_s`` is the margin on that.
    """
    consumer = earliest_consumer(bootstrap, topic)
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
    with (
        LocalPipeline(settings, bootstrap, log_dir) as local,
        TestClient(create_app(settings, bootstrap, local.services)) as api,
    ):
        yield Pipeline(local, api)
