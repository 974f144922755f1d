"""Prometheus metrics of a live producer, read from its streams' figures at each scrape.

``visiontrack_live_frames_total{stream_id, outcome}``: frames captured, throttled (skipped
to keep to the target fps), dropped (the oldest, because publishing fell behind),
published and failed; ``visiontrack_live_reconnects_total{stream_id}``;
``visiontrack_live_fps{stream_id}`` (the publishing rate over the last second);
``visiontrack_live_state{stream_id, state}`` (1 for the stream's state, 0 for the others);
``visiontrack_live_last_frame_timestamp_seconds{stream_id}``. The figures are the ones the
producer stores in the database every ``VISIONTRACK_LIVE_STATUS_INTERVAL_S``, read live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from producers.live.figures import StreamState, StreamStatus

__all__ = ["LiveFiguresCollector"]

OUTCOMES = ("captured", "throttled", "dropped", "published", "failed")


class LiveFiguresCollector(Collector):
    """Turns the streams' current figures, from ``statuses``, into metric families."""

    def __init__(self, statuses: Callable[[], Sequence[StreamStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[Metric]:
        frames = CounterMetricFamily(
            "visiontrack_live_frames",
            "Frames of a live stream by what became of them",
            labels=["stream_id", "outcome"],
        )
        reconnects = CounterMetricFamily(
            "visiontrack_live_reconnects", "Reconnects to a live source", labels=["stream_id"]
        )
        fps = GaugeMetricFamily(
            "visiontrack_live_fps", "Frames published a second", labels=["stream_id"]
        )
        state = GaugeMetricFamily(
            "visiontrack_live_state",
            "1 for the live stream's state, 0 for the others",
            labels=["stream_id", "state"],
        )
        last_frame = GaugeMetricFamily(
            "visiontrack_live_last_frame_timestamp_seconds",
            "Capture time of the last frame published",
            labels=["stream_id"],
        )
        for status in self._statuses():
            sid, f = status.stream_id, status.figures
            for outcome in OUTCOMES:
                frames.add_metric([sid, outcome], getattr(f, outcome))
            reconnects.add_metric([sid], f.reconnects)
            if status.fps is not None:
                fps.add_metric([sid], status.fps)
            for s in StreamState:
                state.add_metric([sid, s.value], 1.0 if f.state is s else 0.0)
            if f.last_frame_at is not None:
                last_frame.add_metric([sid], f.last_frame_at)
        yield from (frames, reconnects, fps, state, last_frame)
