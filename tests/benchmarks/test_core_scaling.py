"""The core-scaling benchmark times the layouts it names (no timing asserted): its sums and
ratios on hand-made loops, and one short real run of fresh worker processes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from benchmarks.core_scaling import (
    Layout,
    LayoutRun,
    LoopRun,
    _wait_ready,
    layouts,
    main,
    scaling_ratios,
    start_child,
)


def test_a_layout_adds_its_processes_rates_and_cores_over_the_longest_loop() -> None:
    loops = [LoopRun(frames=300, seconds=10.0, cpu_s=9.5), LoopRun(200, 8.0, 8.0)]
    run = LayoutRun.of(Layout(2, 1), loops)
    assert run.fps == 30.0 + 25.0
    assert run.cores == (9.5 + 8.0) / 10.0
    with pytest.raises(ValueError, match="1 loops reported"):
        LayoutRun.of(Layout(2, 1), loops[:1])


def test_the_ratios_compare_the_layouts_they_name() -> None:
    every_core, one_thread, spread, lanes = layouts(2)
    assert (every_core, one_thread, spread) == (Layout(1, 2), Layout(1, 1), Layout(2, 1))
    assert lanes == Layout(1, 1, lanes=2)
    assert lanes.name == "1 process x 2 lanes x 1 thread"
    runs = [LayoutRun(spread, 60.0, 2.0), LayoutRun(every_core, 48.0, 1.9)]
    runs += [LayoutRun(one_thread, 32.0, 1.0), LayoutRun(lanes, 54.0, 1.95)]
    assert scaling_ratios(runs, 2) == {
        "one_thread_processes_vs_one_process": 1.25,
        "one_process_threads_vs_one_thread": 1.5,
        "one_thread_processes_vs_one_thread": 1.88,
        "one_thread_lanes_vs_one_process": 1.12,
        "one_thread_lanes_vs_one_thread_processes": 0.9,
    }


def test_a_short_run_times_every_layout_in_fresh_worker_processes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--seconds", "1", "--frames", "16", "--rounds", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (runs,) = report["rounds"]
    cores = os.cpu_count() or 1
    assert [Layout(**r["layout"]) for r in runs] == layouts(cores)
    assert all(r["fps"] > 0 and r["cores"] > 0 for r in runs)
    measured = [LayoutRun(layout, 1.0, 1.0) for layout in layouts(cores)]
    assert report["median_ratios"].keys() == scaling_ratios(measured, cores).keys()


def test_a_child_whose_parent_leaves_before_the_go_stops_its_lanes_and_fails(
    tmp_path: Path,
) -> None:
    lanes = Layout(1, 1, lanes=2)
    child = start_child(lanes, 120.0, 8, tmp_path, stderr=subprocess.PIPE)
    try:
        _wait_ready(child, lanes)
        # Its input closed with no go; the lanes would loop for 120 s once gone.
        _, err = child.communicate(input="", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0
    assert "the parent left before the go" in err
