"""The neighbour-load benchmark (no timing asserted): its arithmetic on hand-made runs, its
neighbours' load, and one layout timed beside them in fresh worker processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchmarks.core_scaling import Layout, LayoutRun
from benchmarks.cpu_usage import process_cpu_s
from benchmarks.neighbour_load import (
    Burst,
    Pair,
    compared_layouts,
    main,
    neighbours,
    pair_ratios,
    time_beside,
)
from benchmarks.pipeline import peak_rss_mb


def test_a_burst_is_busy_for_part_of_its_period() -> None:
    assert Burst(1, 10).duty == 0.1
    for busy, period in ((0, 10), (10, 10), (12, 10), (-1, 10)):
        with pytest.raises(ValueError, match="busy for part of its period"):
            Burst(busy, period)
    with pytest.raises(SystemExit):
        main(["--busy-ms", "10", "--period-ms", "10"])
    with pytest.raises(ValueError, match="cannot be -1 KB"):
        Burst(1, 10, memory_kb=-1)


def test_the_layouts_compared_are_threads_lanes_and_processes_of_every_core() -> None:
    assert compared_layouts(2) == {
        "threads": Layout(1, 2),
        "lanes": Layout(1, 1, lanes=2),
        "processes": Layout(2, 1),
    }


def test_amplification_is_the_share_of_frames_lost_over_the_share_of_cores_taken() -> None:
    threads, lanes = Layout(1, 2), Layout(1, 1, lanes=2)
    fair = Pair("threads", LayoutRun(threads, 50.0, 1.9), LayoutRun(threads, 45.0, 1.7), 0.2)
    worse = Pair("lanes", LayoutRun(lanes, 60.0, 1.9), LayoutRun(lanes, 48.0, 1.7), 0.2)
    assert fair.kept() == pytest.approx(0.9)
    assert fair.amplification(2) == pytest.approx(1.0)  # lost 10 % of frames, took 10 %
    assert worse.amplification(2) == pytest.approx(2.0)  # lost 20 %, took 10 %
    assert worse.amplification(4) == pytest.approx(4.0)  # took 5 % of four cores
    assert pair_ratios([fair, worse], 2) == {
        "kept_beside_neighbours_threads": 0.9,
        "amplification_threads": 1.0,
        "kept_beside_neighbours_lanes": 0.8,
        "amplification_lanes": 2.0,
    }
    idle = Pair("threads", fair.alone, fair.beside, 0.0)
    with pytest.raises(ValueError, match="took no CPU"):
        idle.amplification(2)


@pytest.mark.parametrize("memory_kb", [0, 1024])
def test_neighbours_take_part_of_a_core_each_and_stop_on_leaving(memory_kb: int) -> None:
    with neighbours(2, Burst(2, 10, memory_kb)) as pids:
        time.sleep(1.5)  # past their start
        before = [process_cpu_s(pid) for pid in pids]
        started = time.perf_counter()
        time.sleep(1.0)
        spent = [process_cpu_s(pid) - b for pid, b in zip(pids, before, strict=True)]
        wall = time.perf_counter() - started
    # Each asks for 0.2 of a core: busy, but not spinning all the time.
    assert all(0.05 < s / wall < 0.6 for s in spent), spent
    for pid in pids:
        with pytest.raises(FileNotFoundError):
            process_cpu_s(pid)


def test_a_layout_timed_beside_neighbours_reports_the_cores_they_took(tmp_path: Path) -> None:
    run, taken = time_beside(Layout(1, 1), 1.0, 8, tmp_path, count=1, burst=Burst(2, 10))
    assert run.layout == Layout(1, 1)
    assert run.fps > 0
    assert 0.05 < taken < 0.6


def test_a_neighbour_given_memory_copies_a_buffer_of_that_size() -> None:
    size_kb = 65536
    with (
        neighbours(1, Burst(2, 10)) as (spinning,),
        neighbours(1, Burst(2, 10, size_kb)) as (copying,),
    ):
        time.sleep(3)  # past their start and a first copy
        grown_mb = peak_rss_mb(copying) - peak_rss_mb(spinning)
    # Its source and the copy's target, both written.
    assert grown_mb > 1.8 * size_kb / 1024, grown_mb
