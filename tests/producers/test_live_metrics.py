"""A live producer's Prometheus metrics are its streams' figures at the time of the scrape."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from producers.live.figures import LiveFigures, StreamState, StreamStatus
from producers.live.metrics import LiveFiguresCollector
from tests.prometheus_samples import parse_samples


def test_each_streams_figures_become_its_series() -> None:
    statuses = [
        StreamStatus(
            "door",
            LiveFigures(
                state=StreamState.LIVE,
                captured=120,
                throttled=20,
                dropped=7,
                published=92,
                failed=1,
                reconnects=2,
                last_frame_at=1_700_000_000.5,
            ),
            fps=9.5,
        ),
        StreamStatus("lobby", LiveFigures(state=StreamState.RECONNECTING), fps=None),
    ]
    registry = CollectorRegistry()
    registry.register(LiveFiguresCollector(lambda: statuses))

    samples = parse_samples(generate_latest(registry).decode())

    door, lobby = ("stream_id", "door"), ("stream_id", "lobby")
    frames = {
        outcome: samples[("visiontrack_live_frames_total", (("outcome", outcome), door))]
        for outcome in ("captured", "throttled", "dropped", "published", "failed")
    }
    assert frames == {"captured": 120, "throttled": 20, "dropped": 7, "published": 92, "failed": 1}
    assert samples[("visiontrack_live_reconnects_total", (door,))] == 2
    assert samples[("visiontrack_live_fps", (door,))] == 9.5
    assert samples[("visiontrack_live_last_frame_timestamp_seconds", (door,))] == 1_700_000_000.5
    states = {
        labels[0][1]: value  # labels sorted: ("state", ...), then the stream's
        for (name, labels), value in samples.items()
        if name == "visiontrack_live_state" and labels[1] == door
    }
    assert states == {s.value: (1.0 if s is StreamState.LIVE else 0.0) for s in StreamState}
    # No rate and no frame yet: those series are left out rather than shown as 0.
    assert ("visiontrack_live_fps", (lobby,)) not in samples
    assert ("visiontrack_live_last_frame_timestamp_seconds", (lobby,)) not in samples
    assert samples[("visiontrack_live_state", (("state", "reconnecting"), lobby))] == 1


def test_a_scrape_reads_the_figures_anew() -> None:
    figures = LiveFigures(state=StreamState.LIVE, dropped=1)
    registry = CollectorRegistry()
    registry.register(LiveFiguresCollector(lambda: [StreamStatus("door", figures, None)]))
    key = ("visiontrack_live_frames_total", (("outcome", "dropped"), ("stream_id", "door")))
    assert parse_samples(generate_latest(registry).decode())[key] == 1
    figures = LiveFigures(state=StreamState.LIVE, dropped=5)
    assert parse_samples(generate_latest(registry).decode())[key] == 5
