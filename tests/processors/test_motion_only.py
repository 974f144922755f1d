"""Motion-only tracking: DeepSORT by overlap with the Kalman prediction, no embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from processors.pipeline.frame_processor import FrameProcessor
from processors.tracking.durable import TrackerInput
from processors.tracking.embedder import Crop
from processors.tracking.motion import overlap_distance
from processors.tracking.tracker import StreamTracker
from processors.worker import build_processor
from producers.frames import encode_image
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator
from tests.processors.test_durable_tracker import SCENE
from visiontrack.settings import Settings


def test_overlap_distance_is_one_minus_iou() -> None:
    boxes = np.array([[0, 0, 10, 10], [100, 100, 110, 110]], np.float32)
    candidates = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]], np.float32)
    expected = [[0.0, 1 - 50 / 150, 1.0], [1.0, 1.0, 1.0]]
    assert overlap_distance(boxes, candidates) == pytest.approx(np.array(expected))
    assert overlap_distance(boxes[:0], candidates).shape == (0, 3)


def _step(tracker: StreamTracker, boxes: list[list[float]]) -> dict[int, float]:
    xyxy = np.array(boxes, np.float32).reshape(-1, 4)
    out = tracker.update(
        xyxy, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int64), []
    )
    return {t.track_id: t.xyxy[0] for t in out}


def test_approaching_objects_keep_their_ids_through_a_short_gap() -> None:
    """Two boxes move towards each other and vanish for two frames; each id stays on its
    own side of the motion, as the Kalman prediction carries it."""
    tracker = StreamTracker(max_age=5, n_init=2, appearance=False)
    seen = []
    for t in range(16):
        if t in (8, 9):
            seen.append(_step(tracker, []))
            continue
        seen.append(
            _step(tracker, [[10 + 6 * t, 10, 50 + 6 * t, 90], [300 - 6 * t, 200, 340 - 6 * t, 280]])
        )
    first, last = seen[3], seen[-1]
    assert len(first) == len(last) == 2
    assert set(first) == set(last)
    left_first = min(first, key=lambda k: first[k])
    assert last[left_first] > 60, "the id moving right kept moving right"


def test_a_motion_only_tracker_restores_exactly_from_a_gallery_free_snapshot() -> None:
    original = StreamTracker(max_age=10, n_init=3, appearance=False)
    inputs = [TrackerInput.of(f.frame_no, f.xyxy, f.scores, f.class_ids, []) for f in SCENE]
    for frame in inputs[:60]:
        frame.apply(original)
    snapshot = original.snapshot()
    restored = StreamTracker(max_age=10, n_init=3, appearance=False)
    restored.restore(snapshot)
    assert [f.apply(restored) for f in inputs[60:]] == [f.apply(original) for f in inputs[60:]]

    with_appearance = StreamTracker(max_age=10, n_init=3)
    for frame in SCENE[:60]:
        frame.apply(with_appearance)
    assert len(snapshot) * 5 < len(with_appearance.snapshot())


class _CountingEmbedder:
    """The worker's embedder, counting the crops it is given."""

    def __init__(self, processor: FrameProcessor) -> None:
        self.inner = processor._embedder
        self.max_cosine_distance = self.inner.max_cosine_distance
        self.crops = 0

    def embed(self, crops: Sequence[Crop]) -> list[npt.NDArray[np.float32]]:
        self.crops += len(crops)
        return self.inner.embed(crops)


def test_only_streams_with_appearance_are_embedded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, tracker_motion_only_streams="cheap-*, other")
    assert settings.motion_only("cheap-1") and settings.motion_only("other")
    assert not settings.motion_only("cam") and not settings.motion_only("xcheap-1")
    processor = build_processor(settings)
    counting = _CountingEmbedder(processor)
    processor._embedder = counting

    config = SceneConfig(width=480, height=360, num_frames=6)
    frames = [f.image for f in SceneGenerator(3, config).frames()]
    tracked = {}
    for stream in ("cheap-1", "cam"):
        before = counting.crops
        messages = [
            encode_image(image, stream_id=stream, frame_no=i, source="scene", jpeg_quality=90)
            for i, image in enumerate(frames)
        ]
        results = processor.process_messages(messages)
        tracked[stream] = [len(r.tracks) for r in results if not isinstance(r, Exception)]
        tracked[stream + " crops"] = [counting.crops - before]
    assert tracked["cheap-1 crops"] == [0]
    assert tracked["cam crops"][0] > 0
    # Both confirm tracks on the same scene once n_init frames have passed.
    assert tracked["cheap-1"][-1] > 0 and tracked["cam"][-1] > 0
