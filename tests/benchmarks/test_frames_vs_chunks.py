"""The frames-vs-chunks benchmark's harness counts what it says (no timing asserted)."""

from __future__ import annotations

from benchmarks.frames_vs_chunks import compare
from producers.chunks import ChunkPlan
from producers.synthetic import SceneConfig, SceneGenerator


def test_both_paths_round_trip_every_frame_and_chunks_are_smaller() -> None:
    config = SceneConfig(width=320, height=240, num_frames=20)
    images = [f.image for f in SceneGenerator(2, config).frames()]

    result = compare("scene", images, config.fps, 90, ChunkPlan(seconds=1.0))

    assert result.frames == 20
    for path in (result.jpeg, result.chunks):
        assert path.kb_per_frame > 0 and path.encode_ms > 0 and path.decode_ms > 0
        assert path.psnr_db > 28.0  # decoded frames are the source frames, not others
    assert result.bytes_ratio > 2.0
