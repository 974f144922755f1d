"""The producer benchmark's harness measures what it says, on a real broker (no timing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.producer_throughput import measure
from infra.broker import BundledBroker
from infra.topics import ensure_topics
from producers.synthetic import SceneConfig, SceneGenerator, write_video
from tests.producers.broker_helpers import frame_reader
from visiontrack.settings import Settings

pytestmark = pytest.mark.integration


def test_every_decoded_frame_is_encoded_and_delivered(
    broker: BundledBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(kafka_bootstrap_servers=broker.bootstrap_servers)
    ensure_topics(settings, broker.bootstrap_servers)
    video = tmp_path / "scene.mp4"
    write_video(SceneGenerator(1, SceneConfig(width=320, height=240, num_frames=12)), video)

    costs = measure(video, broker.bootstrap_servers, settings, quality=85)

    assert costs.frames == 12
    assert min(costs.decode_ms, costs.encode_ms, costs.send_ms) > 0
    assert costs.total_ms == pytest.approx(costs.decode_ms + costs.encode_ms + costs.send_ms)
    with frame_reader(broker.bootstrap_servers, settings.topics.frames) as reader:
        frames = reader.read_until(lambda fs: len(fs) >= 12, timeout=60)
    assert [f.frame_no for f in frames] == list(range(12))
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
