"""A generated scene as a live camera: paced at its fps and looping forever."""

from __future__ import annotations

import time

import numpy as np

from producers.sources.camera import parse_camera
from producers.sources.factory import live_source
from producers.sources.synthetic import SyntheticSource
from producers.synthetic import SceneConfig


def test_the_scene_loops_past_its_last_frame_at_its_frame_rate() -> None:
    config = SceneConfig(width=128, height=96, num_frames=3, fps=20.0)
    source = SyntheticSource(5, config)
    capture = source.open()
    start = time.monotonic()
    images = [capture.read() for _ in range(7)]
    elapsed = time.monotonic() - start
    capture.close()
    assert all(image.shape == (96, 128, 3) and image.dtype == np.uint8 for image in images)
    assert np.array_equal(images[0], images[3]) and np.array_equal(images[1], images[4])
    assert elapsed >= 6 / 20.0 * 0.9  # paced, not as fast as it renders
    assert source.description == "synthetic://seed/5"


def test_the_camera_factory_builds_a_scene_source() -> None:
    source = live_source(parse_camera("synthetic://seed/3"))
    assert isinstance(source, SyntheticSource)
    assert source.description == "synthetic://seed/3"
