"""CPU sampling of processes by role: real processes, busy and idle."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from benchmarks.cpu_usage import CpuSampler, process_cpu_s

BUSY = (
    "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"
    "time.sleep(30)"
)


def _busy(seconds: float) -> subprocess.Popen[bytes]:
    """A process that spends ``seconds`` of CPU, then idles until killed."""
    return subprocess.Popen([sys.executable, "-c", BUSY.format(s=seconds)])


def _spent(process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + 60
    while process_cpu_s(process.pid) < seconds:
        assert time.monotonic() < deadline, "the busy process got no CPU for a minute"
        time.sleep(0.02)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def test_a_process_cpu_seconds_grow_while_it_works_and_its_end_is_an_error() -> None:
    child = _busy(0.3)
    try:
        _spent(child, 0.3)
    finally:
        _stop(child)
    with pytest.raises(FileNotFoundError):  # reaped: no entry in /proc, never a zero
        process_cpu_s(child.pid)


def test_cpu_is_split_by_role_over_the_window_asked_for() -> None:
    idle = _busy(0.0)
    busy: list[subprocess.Popen[bytes]] = []
    sampler = CpuSampler(lambda: {"busy": [p.pid for p in busy], "idle": [idle.pid]}, every_s=0.05)
    try:
        with sampler.sampling():
            time.sleep(1.0)  # the idle one has started up
            started = time.time()
            busy.append(_busy(1.0))
            _spent(busy[0], 1.0)
            time.sleep(0.5)  # idle now: samples after its last busy moment
            ended = time.time()
            spent = process_cpu_s(busy[0].pid)  # all of it after ``started``
    finally:
        for process in [idle, *busy]:
            _stop(process)
    before = {c.role: c.cpu_s for c in sampler.between(started - 0.4, started)}
    during = {c.role: c for c in sampler.between(started, ended)}
    assert before == {"busy": 0.0, "idle": pytest.approx(0.0, abs=0.05)}
    # What it spent within the window; between samples the count is interpolated, which
    # under load (samples late) can miss a little at the window's edges, never add.
    assert spent >= 1.0
    assert spent - 0.3 <= during["busy"].cpu_s <= spent + 0.02
    assert during["busy"].window_s == pytest.approx(ended - started)
    assert during["busy"].ms_per_frame(100) == pytest.approx(during["busy"].cpu_s * 10)
    assert during["idle"].cores < 0.05
    with pytest.raises(ValueError, match="empty window"):
        sampler.between(ended, started)
