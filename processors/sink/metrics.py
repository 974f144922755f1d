"""Prometheus metrics of the analytics sink, served by the process that runs it (the API's
``/metrics``).

The ``sink`` stage of ``visiontrack_stage_seconds`` (the time to store a batch in ClickHouse
and the database, divided over its frames; the worker reports the stages before it), frames
stored per stream, events stored, frames per insert, retried batches, dead letters and the
consumer lag of the sink's partitions.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from processors.metrics import (
    ConsumerLagGauge,
    dead_letters_counter,
    observe_stage,
    stage_seconds_histogram,
)
from schemas.tracks import FrameTracks

__all__ = ["SinkMetrics"]

# 1 .. 10,000 frames an insert: a quiet stream's batch interval up to a full batch.
_INSERT_BUCKETS = (1, 4, 16, 64, 256, 1000, 4000, 10_000)


@dataclass
class SinkMetrics:
    """The sink's metrics in ``registry`` (the API's, or one of their own in tests)."""

    group: str = "visiontrack-analytics-sink"  # the sink's consumer group, for the lag's label
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.stage_seconds = stage_seconds_histogram(r)
        self.frames_stored = Counter(
            "visiontrack_sink_frames", "Frames whose tracks were stored", ["stream_id"], registry=r
        )
        self.events_stored = Counter(
            "visiontrack_sink_events", "Line and zone events stored", registry=r
        )
        self.insert_frames = Histogram(
            "visiontrack_sink_insert_frames",
            "Frames stored in one insert",
            buckets=_INSERT_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "visiontrack_sink_retries", "Failed attempts to store a batch", registry=r
        )
        self.dead_letters = dead_letters_counter(r)
        self.consumer_lag = ConsumerLagGauge(r, self.group)

    def observe_stored(self, frames: list[FrameTracks], events: int, seconds: float) -> None:
        """A batch of ``frames`` and ``events`` stored in ``seconds``."""
        self.events_stored.inc(events)
        if not frames:
            return
        self.insert_frames.observe(len(frames))
        observe_stage(self.stage_seconds, "sink", seconds, len(frames))
        for stream_id, count in Tally(f.stream_id for f in frames).items():
            self.frames_stored.labels(stream_id).inc(count)
