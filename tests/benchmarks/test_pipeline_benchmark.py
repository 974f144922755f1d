"""The pipeline benchmark measures what it says (no timing asserted): a short video through
Ultralytics' tracker, the direct loop and the real pipeline, every frame counted."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from benchmarks.pipeline import (
    median_ratios,
    render_medians,
    run_backlog,
    time_direct,
    time_ultralytics_track,
    write_scene_video,
)
from infra.topics import spread_stream_ids
from processors.detection.ultralytics_env import configure_ultralytics
from visiontrack.settings import Settings


def test_stream_ids_land_on_distinct_partitions() -> None:
    ids = spread_stream_ids("bench", 4, 4)
    assert len(ids) == 4
    assert len({zlib.crc32(i.encode()) % 4 for i in ids}) == 4
    assert len(spread_stream_ids("bench", 4, 2)) == 2  # never more than there are partitions


def test_a_short_video_through_ultralytics_and_the_pipeline(tmp_path: Path) -> None:
    configure_ultralytics(tmp_path / "ultralytics")
    settings = Settings(data_dir=tmp_path, worker_metrics_port=0)
    video = tmp_path / "scene.mp4"
    frames = write_scene_video(video, 10)
    assert len(frames) == 10 and frames[0].shape == (480, 640, 3)

    # The direct loop runs on the frames decoded beforehand, then decodes the video itself
    # (last, so the pipeline measured next runs right after it), each on a fresh processor.
    direct = time_direct(settings, video, frames)
    assert [(d.what, d.frames) for d in direct] == [
        ("direct, frames in memory", 10),
        ("direct", 10),
    ]
    assert all(d.fps > 0 and d.cpu_s > 0 for d in direct)

    track = time_ultralytics_track(settings, video, len(frames))
    assert track.frames == 10 and track.fps > 0
    assert track.cpu_s > 0 and track.cores <= (os.cpu_count() or 1) * 1.05

    run = run_backlog(settings, video, tmp_path / "pipeline", streams=2, workers=1)
    assert (run.streams, run.frames) == (2, 20)  # both copies, every frame stored once
    assert run.encoding == "copy"  # the file's own video, in chunks
    assert run.seconds > 0 and run.latency_p50_s <= run.latency_p95_s
    assert run.processed_p50_s <= run.latency_p50_s
    assert len(run.peak_rss_mb) == 1 and run.peak_rss_mb[0] > 100
    # While the frames were processed, the worker detected them and the broker carried them.
    cpu = {c.role: c for c in run.cpu}
    assert set(cpu) == {"workers", "broker", "sink and store"}
    assert cpu["workers"].cores > 0.2 and cpu["broker"].cpu_s > 0
    assert cpu["workers"].window_s == pytest.approx(run.seconds)
    assert run.cpu_ms_per_frame == pytest.approx(sum(c.cpu_s for c in run.cpu) * 1000 / 20)


def test_each_ratio_is_its_median_over_the_rounds() -> None:
    rounds = [
        {"pipeline_vs_direct_torch": 0.84, "four_streams_two_workers_vs_one": 1.31},
        {"pipeline_vs_direct_torch": 0.93, "four_streams_two_workers_vs_one": 1.02},
        {"pipeline_vs_direct_torch": 0.91, "four_streams_two_workers_vs_one": 1.10},
    ]
    medians = median_ratios(rounds)
    assert medians == {"pipeline_vs_direct_torch": 0.91, "four_streams_two_workers_vs_one": 1.10}
    assert median_ratios(rounds[:2])["pipeline_vs_direct_torch"] == pytest.approx(0.885, abs=0.006)
    lines = render_medians(medians, 3).splitlines()
    assert lines[0] == "median ratios of 3 rounds (target):"
    assert lines[1].split() == ["pipeline_vs_direct_torch", "0.91", "(>=", "0.9)"]
    with pytest.raises(ValueError, match="no rounds"):
        median_ratios([])
