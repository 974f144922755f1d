"""The DeepSORT-step and detector-backend benchmarks measure what they say (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.deepsort_step import (
    DETECTIONS,
    SWING_STEPS,
    compare_tracker_updates,
    moving_boxes,
    time_steps,
)
from benchmarks.detector_backends import compare, scene_frames
from processors.tracking.embedder import SAMPLE
from producers.synthetic import SceneConfig, SceneGenerator
from visiontrack.settings import Settings


def test_the_deepsort_step_tracks_the_ten_boxes_it_times() -> None:
    config = SceneConfig(width=1280, height=720, num_frames=8)
    frames = [f.image for f in SceneGenerator(5, config).frames()]
    assert moving_boxes(0).shape == (DETECTIONS, 4)
    budget = Settings().tracker_gallery_budget  # the worker's
    timing = time_steps(SAMPLE, frames, gallery_budget=budget, settle=90)
    assert timing.steps == 8 and timing.embed_ms > 0 and timing.track_ms > 0
    # every box became a confirmed track and kept it, through two swings and the timed steps
    assert timing.confirmed_tracks == DETECTIONS


def test_the_tracker_updates_are_timed_on_the_same_steps() -> None:
    """As shipped, with the lean filter and as the worker runs it, trackers update on the
    same embedded steps (the comparison raises if one changed a track), each timed over the
    steps after the settling ones."""
    config = SceneConfig(width=1280, height=720, num_frames=6)
    frames = [f.image for f in SceneGenerator(5, config).frames()]
    timing = compare_tracker_updates(frames, gallery_budget=20, settle=30, rounds=2)
    assert timing.rounds == 2
    assert timing.shipped_ms > 0 and timing.lean_filter_ms > 0 and timing.worker_ms > 0
    assert timing.speedup == timing.shipped_ms / timing.worker_ms
    assert timing.speedup == pytest.approx(timing.filter_speedup * timing.matching_speedup)


def test_the_boxes_swing_to_and_fro_inside_the_frame() -> None:
    swing = np.stack([moving_boxes(step) for step in range(4 * SWING_STEPS + 1)])
    assert swing[..., 0].min() >= 0 and swing[..., 2].max() <= 1280
    assert swing[..., 1].min() >= 0 and swing[..., 3].max() <= 720
    np.testing.assert_array_equal(swing[2 * SWING_STEPS], swing[0])  # back where it began
    step_x = np.diff(swing[:, 0, 0])
    assert set(np.abs(step_x).tolist()) == {4.0} and (step_x < 0).sum() == 2 * SWING_STEPS


def test_every_backend_runs_the_same_frames_and_finds_about_the_same_boxes(models: Path) -> None:
    rows = compare(scene_frames(4, 640, 360), [1, 2], models)
    assert [(r.backend, r.batch) for r in rows] == [
        (b, n) for b in ("torch", "onnx", "openvino", "openvino-int8") for n in (1, 2)
    ]
    torch_boxes = rows[0].boxes
    assert torch_boxes > 0 and all(abs(r.boxes - torch_boxes) <= 2 for r in rows)
    assert all(r.ms_per_frame > 0 for r in rows) and rows[0].speedup == 1.0
