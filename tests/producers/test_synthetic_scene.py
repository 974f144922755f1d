"""SceneGenerator: determinism by seed, ground truth that matches the rendered pixels."""

from __future__ import annotations

import hashlib
from itertools import islice
from typing import Any

import numpy as np
import pytest

from producers.synthetic import CLASS_NAMES, SceneConfig, SceneFrame, SceneGenerator
from producers.synthetic.scene import GroundTruthObject

FRAMES = 30


def _digest(frames: list[SceneFrame]) -> tuple[str, list[tuple[GroundTruthObject, ...]]]:
    h = hashlib.sha256()
    for f in frames:
        h.update(f.image.tobytes())
    return h.hexdigest(), [f.objects for f in frames]


def _first(seed: int, n: int = FRAMES) -> list[SceneFrame]:
    return list(islice(SceneGenerator(seed).frames(), n))


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_gives_identical_frames_and_truth(seed: int) -> None:
    assert _digest(_first(seed)) == _digest(_first(seed))


def test_a_generator_replays_identically() -> None:
    scene = SceneGenerator(3)
    assert _digest(list(islice(scene, FRAMES))) == _digest(list(islice(scene, FRAMES)))


@pytest.mark.parametrize(("a", "b"), [(0, 1), (1, 2)])
def test_different_seeds_give_different_scenes(a: int, b: int) -> None:
    (hash_a, truth_a), (hash_b, truth_b) = _digest(_first(a, 5)), _digest(_first(b, 5))
    assert hash_a != hash_b
    assert truth_a != truth_b
    assert not np.array_equal(
        SceneGenerator(a).render_background(), SceneGenerator(b).render_background()
    )


def test_frames_have_the_configured_shape_and_type() -> None:
    cfg = SceneConfig(width=200, height=150, num_frames=4)
    frames = list(SceneGenerator(0, cfg))
    assert [f.index for f in frames] == [0, 1, 2, 3]
    for f in frames:
        assert f.image.shape == (150, 200, 3)
        assert f.image.dtype == np.uint8


def test_render_free_truth_equals_rendered_truth() -> None:
    scene = SceneGenerator(5)
    rendered = [f.objects for f in islice(scene.frames(), FRAMES)]
    assert rendered == list(islice(scene.ground_truth(), FRAMES))


@pytest.mark.parametrize("seed", [0, 3])
def test_boxes_visibility_and_ids_are_well_formed(seed: int) -> None:
    cfg = SceneConfig()
    classes: set[int] = set()
    for objects in islice(SceneGenerator(seed).ground_truth(), 0, 300, 5):
        ids = [o.track_id for o in objects]
        assert len(ids) == len(set(ids))
        for o in objects:
            x1, y1, x2, y2 = o.xyxy
            assert 0 <= x1 < x2 <= cfg.width
            assert 0 <= y1 < y2 <= cfg.height
            assert min(x2 - x1, y2 - y1) >= cfg.min_box_px
            assert cfg.min_visibility <= o.visibility <= 1.0
            assert o.track_id >= 1
            assert o.class_name == CLASS_NAMES[o.class_id]
            classes.add(o.class_id)
    assert classes == {0, 1, 2}


@pytest.mark.parametrize(("seed", "index"), [(0, 0), (0, 120), (3, 60), (7, 200)])
def test_visible_objects_change_the_pixels_in_their_box(seed: int, index: int) -> None:
    scene = SceneGenerator(seed)
    frame = next(islice(scene.frames(), index, None))
    background = scene.render_background(index)
    changed = np.abs(frame.image.astype(np.int16) - background).max(axis=2) > 25
    checked = 0
    for o in frame.objects:
        if o.visibility >= 0.5:
            x1, y1, x2, y2 = (int(v) for v in o.xyxy)
            assert changed[y1:y2, x1:x2].mean() > 0.1, o
            checked += 1
    assert checked >= 3


def test_without_objects_only_camera_noise_differs_from_the_background() -> None:
    scene = SceneGenerator(2, SceneConfig(target_objects=0, num_frames=3))
    for frame in scene.frames():
        assert frame.objects == ()
        diff = np.abs(frame.image.astype(np.int16) - scene.render_background(frame.index))
        assert (diff.max(axis=2) > 25).mean() < 0.001
        assert 0 < diff.mean() < 8


@pytest.mark.parametrize(
    "bad",
    [
        {"width": 10},
        {"fps": 0.0},
        {"num_frames": 0},
        {"target_objects": -1},
        {"class_mix": (0.0, 0.0, 0.0)},
        {"class_mix": (1.0, -1.0, 1.0)},
        {"flicker": 0.7},
        {"jitter_px": -1},
        {"min_visibility": 1.5},
    ],
)
def test_invalid_config_is_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid SceneConfig"):
        SceneConfig(**bad)
