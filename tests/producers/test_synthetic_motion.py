"""MotionModel: ids never reused, objects enter and leave, stop and change speed."""

from __future__ import annotations

import numpy as np

from producers.synthetic import SceneConfig
from producers.synthetic.layout import make_layout
from producers.synthetic.motion import MotionModel

STEPS = 300


def _model(seed: int) -> tuple[MotionModel, SceneConfig]:
    cfg = SceneConfig()
    layout_rng, motion_rng = np.random.default_rng(seed).spawn(2)
    return MotionModel(make_layout(cfg, layout_rng), cfg, motion_rng), cfg


def test_ids_start_at_one_and_are_never_reused() -> None:
    model, cfg = _model(0)
    assert [m.track_id for m in model.movers] == list(range(1, len(model.movers) + 1))
    gone: set[int] = set()
    last_id = max(m.track_id for m in model.movers)
    for _ in range(STEPS):
        before = {m.track_id for m in model.movers}
        model.step()
        now = {m.track_id for m in model.movers}
        assert not now & gone
        new = now - before
        assert all(i > last_id for i in new)
        last_id = max([last_id, *new])
        gone |= before - now
    assert gone  # objects left the scene
    assert last_id > cfg.target_objects  # and new ones entered


def test_objects_stop_and_change_speed_while_in_view() -> None:
    model, cfg = _model(1)
    stopped_in_view, factors = 0, set()
    for _ in range(STEPS):
        model.step()
        for m in model.movers:
            factors.add(round(m.factor, 1))
            if m.factor == 0.0 and 0 < m.x < cfg.width and m.y < cfg.height:
                stopped_in_view += 1
    assert stopped_in_view > 0
    assert len(factors) > 5


def test_new_objects_enter_from_outside_the_frame() -> None:
    model, cfg = _model(2)
    known = {m.track_id for m in model.movers}
    entered = 0
    for _ in range(STEPS):
        model.step()
        for m in model.movers:
            if m.track_id not in known:
                known.add(m.track_id)
                outside = m.x < 0 or m.x > cfg.width or m.y > cfg.height
                assert outside, m
                entered += 1
    assert entered > 0
