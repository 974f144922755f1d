"""The DeepSORT-step and detector-backend benchmarks measure what they say (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.deepsort_step import DETECTIONS, moving_boxes, time_steps
from benchmarks.detector_backends import compare, scene_frames
from processors.detection.ultralytics_env import configure_ultralytics
from processors.tracking.embedder import SAMPLE
from producers.synthetic import SceneConfig, SceneGenerator


def test_the_deepsort_step_tracks_the_ten_boxes_it_times() -> None:
    config = SceneConfig(width=1280, height=720, num_frames=8)
    frames = [f.image for f in SceneGenerator(5, config).frames()]
    assert moving_boxes(0).shape == (DETECTIONS, 4)
    timing = time_steps(SAMPLE, frames)
    assert timing.steps == 8 and timing.embed_ms > 0 and timing.track_ms > 0
    assert timing.confirmed_tracks == DETECTIONS  # every box became a confirmed track


def test_every_backend_runs_the_same_frames_and_finds_about_the_same_boxes(
    tmp_path: Path,
) -> None:
    configure_ultralytics(tmp_path / "ultralytics")
    rows = compare(scene_frames(4, 640, 360), [1, 2], tmp_path / "models")
    assert [(r.backend, r.batch) for r in rows] == [
        (b, n) for b in ("torch", "onnx", "openvino", "openvino-int8") for n in (1, 2)
    ]
    torch_boxes = rows[0].boxes
    assert torch_boxes > 0 and all(abs(r.boxes - torch_boxes) <= 2 for r in rows)
    assert all(r.ms_per_frame > 0 for r in rows) and rows[0].speedup == 1.0
