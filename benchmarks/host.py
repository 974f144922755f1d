"""The host a benchmark ran on: its CPU model, cores and the vector instructions that set
the detector's speed.

On these shared machines the host changes from day to day, and with it the ratios: OpenVINO
runs f32 networks in bf16 on CPUs with AMX, and INT8 ones at their fastest with VNNI, while
on a CPU with AVX2 alone it is hardly faster than torch. A report that names the host can
be compared with the runs of the same kind of host.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HostCpu", "host_cpu", "this_host"]

# The flags that matter to the detectors' kernels, as /proc/cpuinfo names them: the widest
# vector width first (AVX-512 implies AVX2), then the extensions beside it.
_WIDEST = (("avx512f", "AVX-512"), ("avx2", "AVX2"))
_EXTRAS = (
    ("avx512_vnni", "VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("avx512_bf16", "BF16"),
    ("amx_tile", "AMX"),
)


@dataclass(frozen=True, slots=True)
class HostCpu:
    model: str
    cores: int
    isa: tuple[str, ...]  # e.g. ("AVX-512", "VNNI", "BF16"); empty when unknown

    def describe(self) -> str:
        vector = ", ".join(self.isa) if self.isa else "vector extensions unknown"
        return f"{self.model}, {self.cores} cores, {vector}"


def host_cpu(cpuinfo: str, cores: int) -> HostCpu:
    """The CPU that ``cpuinfo`` (the text of ``/proc/cpuinfo``) describes, with ``cores``
    of it usable."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():  # every processor repeats the first one's fields
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    widest = next(([name] for flag, name in _WIDEST if flag in flags), [])
    extras = [name for flag, name in _EXTRAS if flag in flags]
    return HostCpu(fields.get("model name", "unknown CPU"), cores, (*widest, *extras))


def this_host() -> HostCpu:
    """This machine's CPU, as far as the platform tells (Linux tells all of it)."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        return host_cpu(cpuinfo.read_text(), cores)
    return HostCpu(platform.processor() or "unknown CPU", cores, ())
