"""Prometheus metrics of the worker, served on ``VISIONTRACK_WORKER_METRICS_PORT``.

Frames in (read from Kafka) and out (tracks sent) per stream, frames skipped as already
applied, dead letters by stage, records dropped between the broker and the agents and read
again (:class:`processors.faust_app.RewindingConsumer`), analytics events by kind, the time
each stage takes (decode, detect, embed, track: per batch, divided over its frames), the
size of detection batches, and the consumer lag of each input partition the worker holds
(:mod:`processors.consumer_lag`; the analytics sink reports the ``sink`` stage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from processors.consumer_lag import PartitionOffsets

__all__ = [
    "STAGES",
    "ConsumerLagGauge",
    "WorkerMetrics",
    "dead_letters_counter",
    "observe_stage",
    "stage_seconds_histogram",
]

STAGES = ("decode", "detect", "embed", "track")
# 1 ms .. 10 s: a stage of one frame on a CPU, up to a stuck batch.
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def stage_seconds_histogram(registry: CollectorRegistry) -> Histogram:
    """``visiontrack_stage_seconds{stage}``, as the worker and the sink both report it."""
    return Histogram(
        "visiontrack_stage_seconds",
        "Time of a pipeline stage per frame",
        ["stage"],
        buckets=_SECONDS_BUCKETS,
        registry=registry,
    )


def observe_stage(histogram: Histogram, stage: str, seconds: float, frames: int) -> None:
    """``seconds`` a stage took for a batch of ``frames``, observed once per frame."""
    child, per_frame = histogram.labels(stage), seconds / frames
    for _ in range(frames):
        child.observe(per_frame)


def dead_letters_counter(registry: CollectorRegistry) -> Counter:
    """``visiontrack_dead_letters_total{stage}``, as the worker and the sink both report it."""
    return Counter(
        "visiontrack_dead_letters",
        "Records sent to the dead-letter topic",
        ["stage"],
        registry=registry,
    )


class ConsumerLagGauge:
    """``visiontrack_consumer_lag{group, topic, partition}``: one series per partition the
    consumer holds, dropped when the partition goes (revoked in a rebalance)."""

    def __init__(self, registry: CollectorRegistry, group: str) -> None:
        self._group = group
        self._gauge = Gauge(
            "visiontrack_consumer_lag",
            "Records of a partition written but not committed by the consumer group",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self._shown: set[tuple[str, str]] = set()

    def record(self, offsets: Iterable[PartitionOffsets]) -> None:
        """Show the lag of ``offsets`` (partitions whose lag is not known yet are left out)
        and stop showing partitions not among them."""
        shown = set()
        for p in offsets:
            lag = p.lag
            if lag is None:
                continue
            labels = (p.topic, str(p.partition))
            self._gauge.labels(self._group, *labels).set(lag)
            shown.add(labels)
        for labels in self._shown - shown:
            self._gauge.remove(self._group, *labels)
        self._shown = shown


@dataclass
class WorkerMetrics:
    """The worker's metrics in a registry of their own (tests make several)."""

    group: str = "visiontrack-worker"  # the worker's consumer group, for the lag's label
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.consumer_lag = ConsumerLagGauge(r, self.group)
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
        self.dead_letters = dead_letters_counter(r)
        self.records_dropped = Counter(
            "visiontrack_records_dropped",
            "Records dropped between the broker and the agents (by Faust) and read again",
            ["topic"],
            registry=r,
        )
        self.events = Counter(
            "visiontrack_analytics_events", "Line and zone events", ["kind"], registry=r
        )
        self.stage_seconds = stage_seconds_histogram(r)
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
            observe_stage(self.stage_seconds, stage, total, frames)
