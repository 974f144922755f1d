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
        self._times: list[float] = []
        self._samples: list[dict[tuple[str, int], float]] = []
        self._stop = threading.Event()

    def _sample(self) -> None:
        sample = {}
        for role, pids in self._roles().items():
            for pid in pids:
                try:
                    sample[role, pid] = process_cpu_s(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue  # exited between the listing and the read
        self._times.append(time.time())
        self._samples.append(sample)

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
        """The process's CPU seconds at ``at``, interpolated between the samples around it
        that saw the process; before its first sample and after its last, those samples'."""
        seen = [i for i, sample in enumerate(self._samples) if key in sample]
        j = bisect_left([self._times[i] for i in seen], at)
        if j == 0 or j == len(seen):
            return self._samples[seen[min(j, len(seen) - 1)]][key]
        i0, i1 = seen[j - 1], seen[j]
        t0, t1 = self._times[i0], self._times[i1]
        v0, v1 = self._samples[i0][key], self._samples[i1][key]
        return v0 + (v1 - v0) * (at - t0) / (t1 - t0)

    def between(self, start: float, end: float) -> list[ProcessCpu]:
        """Each role's CPU seconds from ``start`` to ``end`` (Unix time), in role order."""
        if end <= start:
            raise ValueError(f"empty window: {start} to {end}")
        keys = {key for sample in self._samples for key in sample}
        spent: dict[str, float] = {}
        for role in self._roles():
            role_keys = [k for k in keys if k[0] == role]
            spent[role] = sum(self._cpu_at(k, end) - self._cpu_at(k, start) for k in role_keys)
        return [ProcessCpu(role, cpu_s, end - start) for role, cpu_s in spent.items()]
