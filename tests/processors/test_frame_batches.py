"""Frames of several streams (of different sizes) detected and embedded as one batch track
as they do one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from processors.pipeline.frame_processor import FrameDecodeError, FrameInput, FrameProcessor
from processors.worker import build_processor
from producers.frames import encode_image
from producers.synthetic.config import SceneConfig
from producers.synthetic.scene import SceneGenerator
from schemas.frames import FrameMessage
from schemas.tracks import FrameTracks
from visiontrack.settings import Settings

FRAMES = 12


def _processor(tmp_path: Path, batch: int) -> FrameProcessor:
    return build_processor(Settings(data_dir=tmp_path, batch_max_frames=batch))


def _interleaved() -> list[FrameMessage]:
    """Frames of two streams of generated scenes, alternating."""
    config = SceneConfig(width=480, height=360, num_frames=FRAMES)
    scenes = {
        sid: list(SceneGenerator(seed, config).frames()) for sid, seed in (("a", 3), ("b", 4))
    }
    return [
        encode_image(
            scenes[sid][i].image, stream_id=sid, frame_no=i, source="scene", jpeg_quality=90
        )
        for i in range(FRAMES)
        for sid in ("a", "b")
    ]


def _summary(result: FrameTracks) -> tuple[str, int, list[tuple[int, int, tuple[int, ...]]]]:
    tracks = [
        (t.track_id, t.class_id, tuple(round(v) for v in (t.x1, t.y1, t.x2, t.y2)))
        for t in result.tracks
    ]
    return result.stream_id, result.frame_no, tracks


def _scores(result: FrameTracks) -> np.ndarray:
    return np.array([d.confidence for d in result.detections])


def _in_batches_of_4(processor: FrameProcessor, frames: list[FrameMessage]) -> list[FrameTracks]:
    results = [
        r for i in range(0, len(frames), 4) for r in processor.process_messages(frames[i : i + 4])
    ]
    assert all(isinstance(r, FrameTracks) for r in results)
    return [r for r in results if isinstance(r, FrameTracks)]


def test_batches_across_streams_track_like_single_frames(tmp_path: Path) -> None:
    frames = _interleaved()
    single = _processor(tmp_path / "one", 1)
    one_by_one = [single.process(f) for f in frames]

    results = _in_batches_of_4(_processor(tmp_path / "four", 4), frames)  # all FrameTracks

    assert [_summary(r) for r in results] == [_summary(r) for r in one_by_one]
    # Detections too, to float noise of the batch size: a batch of mixed image sizes padded
    # to one square would shift scores by ~0.01, making a stream depend on its neighbours.
    for batch_result, single_result in zip(results, one_by_one, strict=True):
        got_scores, want = _scores(batch_result), _scores(single_result)
        assert got_scores.shape == want.shape
        assert np.abs(got_scores - want).max(initial=0.0) < 2e-3
    assert sum(len(r.tracks) for r in one_by_one) >= 20  # the scenes do get tracked
    assert {r.stream_id for r in one_by_one if r.tracks} == {"a", "b"}


def test_a_bad_frame_in_a_batch_gets_its_error_and_the_others_are_tracked(
    tmp_path: Path,
) -> None:
    good = _interleaved()[:3]
    bad = good[1].model_copy(update={"jpeg": b"not a jpeg", "frame_no": 99})
    processor = _processor(tmp_path, 4)
    assert processor.process_batch([]) == []
    results = processor.process_messages([good[0], bad, good[1], good[2]])
    assert isinstance(results[1], FrameDecodeError)
    assert [(r.stream_id, r.frame_no) for r in results if isinstance(r, FrameTracks)] == [
        ("a", 0),
        ("b", 0),
        ("a", 1),
    ]


def test_a_batch_of_mixed_sizes_detects_each_frame_as_it_would_alone(tmp_path: Path) -> None:
    """Ultralytics pads a batch of mixed sizes to a full square, which changes boxes and
    scores (up to 0.06 here); detecting each size on its own keeps frames independent."""
    processor = _processor(tmp_path, 4)
    a = [
        f.image
        for f in SceneGenerator(3, SceneConfig(width=480, height=360, num_frames=4)).frames()
    ]
    b = [
        f.image
        for f in SceneGenerator(4, SceneConfig(width=640, height=272, num_frames=4)).frames()
    ]
    frames = [
        FrameInput(image, sid, i, 0.0)
        for i in range(4)
        for sid, image in (("a", a[i]), ("b", b[i]))
    ]
    batched = processor.process_batch(frames)
    for frame, result in zip(frames, batched, strict=True):
        alone = _processor(tmp_path / f"{frame.stream_id}{frame.frame_no}", 1).process_batch(
            [frame]
        )[0]
        assert _scores(result).shape == _scores(alone).shape
        assert np.abs(_scores(result) - _scores(alone)).max(initial=0.0) < 1e-4


def test_a_warmed_up_processor_tracks_like_a_cold_one_and_reports_only_real_batches(
    tmp_path: Path,
) -> None:
    frames = _interleaved()  # 480x360: not the warm-up's frame size
    expected = _in_batches_of_4(_processor(tmp_path / "cold", 4), frames)
    reported: list[int] = []
    warm = build_processor(
        Settings(data_dir=tmp_path / "warm", batch_max_frames=4),
        lambda count, stages: reported.append(count),
    )

    assert warm.warm_up() > 0
    assert reported == []  # no batch reported
    results = _in_batches_of_4(warm, frames)

    assert reported == [4] * (len(frames) // 4)
    assert [_summary(r) for r in results] == [_summary(r) for r in expected]
    for got, want in zip(results, expected, strict=True):
        assert np.abs(_scores(got) - _scores(want)).max(initial=0.0) < 1e-5


def test_the_trackers_of_streams_moved_away_are_dropped_and_the_others_kept(
    tmp_path: Path,
) -> None:
    processor = _processor(tmp_path, 4)
    _in_batches_of_4(processor, _interleaved()[:8])  # streams a and b, frames 0-3
    processor.checkpoints({"a": 3, "b": 3})
    processor.forget(["a", "gone-before"])
    assert processor.covered("a") is None  # restored from the tables if it comes back
    assert processor.covered("b") == 3
