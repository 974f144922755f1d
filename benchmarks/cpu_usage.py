"""CPU time of processes over a window of wall-clock time, read from ``/proc`` (Linux).

A run's frames/s says how fast; the CPU each process spent per frame says what the speed
cost and what is left of the machine: on 2 cores, work beside the detector (the broker, the
sink, JPEG decoding) is paid for by the detector. The sampler reads each process's user and
system time every ``every_s`` seconds in a thread, and interpolates between samples for the
window asked about (for a pipeline run, its first to its last ``processed_at``).
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuSampler", "ProcessCpu", "process_cpu_s"]

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a live process, all its threads (not its children)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass(frozen=True, slots=True)
class ProcessCpu:
    """CPU of the processes of a role (say, the workers) over a window."""

    role: str
    cpu_s: float
    window_s: float

    @property
    def cores(self) -> float:
        return self.cpu_s / self.window_s

    def ms_per_frame(self, frames: int) -> float:
        return self.cpu_s * 1000 / frames


class CpuSampler:
    """Samples the CPU seconds of processes by role while running (a context manager).

    ``roles`` is asked on every sample for each role's process ids, so processes started
    while sampling (workers) are followed from their first sample on.
    """

    def __init__(self, roles: Callable[[], Mapping[str, list[int]]], every_s: float = 0.2):
        self._roles = roles
        self._every_s = every_s
        self._role_names: dict[str, None] = {}  # in the order ``roles`` gives them
        # Each process's samples, (Unix time, CPU seconds), by (role, pid).
        self._series: dict[tuple[str, int], list[tuple[float, float]]] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        for role, pids in self._roles().items():
            self._role_names.setdefault(role)
            for pid in pids:
                try:
                    cpu_s = process_cpu_s(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue  # exited between the listing and the read
                self._series.setdefault((role, pid), []).append((time.time(), cpu_s))

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self._sample()

    @contextmanager
    def sampling(self) -> Iterator[CpuSampler]:
        self._sample()
        thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._sample()

    def _cpu_at(self, key: tuple[str, int], at: float) -> float:
        """The process's CPU seconds at ``at``, interpolated between the samples around it;
        before its first sample and after its last, those samples'."""
        series = self._series[key]
        j = bisect_left(series, at, key=lambda sample: sample[0])
        if j == 0 or j == len(series):
            return series[min(j, len(series) - 1)][1]
        (t0, v0), (t1, v1) = series[j - 1], series[j]
        return v0 + (v1 - v0) * (at - t0) / (t1 - t0)

    def between(self, start: float, end: float) -> list[ProcessCpu]:
        """Each role's CPU seconds from ``start`` to ``end`` (Unix time), in role order."""
        if end <= start:
            raise ValueError(f"empty window: {start} to {end}")
        spent = dict.fromkeys(self._role_names, 0.0)
        for key in self._series:
            spent[key[0]] += self._cpu_at(key, end) - self._cpu_at(key, start)
        return [ProcessCpu(role, cpu_s, end - start) for role, cpu_s in spent.items()]
