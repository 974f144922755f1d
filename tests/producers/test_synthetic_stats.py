"""Scene difficulty: enough objects, occlusion and crossings; the statistics themselves."""

from __future__ import annotations

import pytest

from producers.synthetic import SceneGenerator, scene_statistics
from producers.synthetic.scene import GroundTruthObject
from producers.synthetic.stats import box_iou, statistics_from_ground_truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_scenes_are_hard_enough(seed: int) -> None:
    stats = scene_statistics(SceneGenerator(seed))
    assert stats.num_frames == 300
    assert stats.mean_objects >= 8
    assert stats.occluded_fraction >= 0.20
    assert stats.crossings_per_second >= 1 / 3
    assert stats.entries > 0
    assert stats.exits > 0


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 1 / 3),
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),
    ],
)
def test_box_iou(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float], expected: float
) -> None:
    assert box_iou(a, b) == pytest.approx(expected)


def _obj(track_id: int, x: float, visibility: float = 1.0) -> GroundTruthObject:
    return GroundTruthObject(track_id, 0, "person", (x, 0.0, x + 10.0, 10.0), visibility)


def test_statistics_count_overlap_episodes_occlusion_entries_and_exits() -> None:
    frames = [
        [_obj(1, 0), _obj(2, 50)],
        [_obj(1, 0), _obj(2, 5, 0.5)],  # overlap starts: event 1
        [_obj(1, 0), _obj(2, 6, 0.4)],  # same episode
        [_obj(1, 0), _obj(2, 50), _obj(3, 52)],  # 2 and 3 overlap: event 2
        [_obj(1, 0), _obj(2, 8)],  # 1 and 2 again: event 3
        [_obj(2, 8)],
    ]
    stats = statistics_from_ground_truth(frames, fps=2.0)
    assert stats.num_frames == 6
    assert stats.mean_objects == pytest.approx(12 / 6)
    assert stats.occluded_fraction == pytest.approx(2 / 12)
    assert stats.crossing_events == 3
    assert stats.crossings_per_second == pytest.approx(1.0)
    assert (stats.num_tracks, stats.entries, stats.exits) == (3, 1, 2)
