"""Prometheus metrics of the worker, served on ``VISIONTRACK_WORKER_METRICS_PORT``.

Frames in (read from Kafka) and out (tracks sent) per stream, frames skipped as already
applied, dead letters by stage, analytics events by kind, the time each stage takes
(decode, detect, embed, track: per batch, divided over its frames) and the size of
detection batches. Consumer lag is left to the broker's own exporters: the bundled broker
reports end offsets wrongly for batched writes, so a lag computed here would mislead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

__all__ = ["STAGES", "WorkerMetrics"]

STAGES = ("decode", "detect", "embed", "track")
# 1 ms .. 10 s: a stage of one frame on a CPU, up to a stuck batch.
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass
class WorkerMetrics:
    """The worker's metrics in a registry of their own (tests make several)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.frames_in = Counter(
            "visiontrack_frames_in", "Frames read from Kafka", ["stream_id"], registry=r
        )
        self.frames_out = Counter(
            "visiontrack_frames_out", "Frames tracked and sent", ["stream_id"], registry=r
        )
        self.frames_skipped = Counter(
            "visiontrack_frames_skipped",
            "Redelivered frames skipped as already applied",
            ["stream_id"],
            registry=r,
        )
        self.dead_letters = Counter(
            "visiontrack_dead_letters",
            "Records sent to the dead-letter topic",
            ["stage"],
            registry=r,
        )
        self.events = Counter(
            "visiontrack_analytics_events", "Line and zone events", ["kind"], registry=r
        )
        self.stage_seconds = Histogram(
            "visiontrack_stage_seconds",
            "Time of a pipeline stage per frame",
            ["stage"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.batch_frames = Histogram(
            "visiontrack_batch_frames",
            "Frames detected in one call",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )

    def observe_batch(self, frames: int, seconds: dict[str, float]) -> None:
        """One detection batch of ``frames`` and the seconds each stage took for all of it."""
        if frames <= 0:
            return
        self.batch_frames.observe(frames)
        for stage, total in seconds.items():
            per_frame = total / frames
            for _ in range(frames):
                self.stage_seconds.labels(stage).observe(per_frame)

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread."""
        start_http_server(port, addr=host, registry=self.registry)
