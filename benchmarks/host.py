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

# The flags that matter to the detectors' kernels, widest first, as /proc/cpuinfo names them.
_AMX = ("amx_tile", "AMX")
_AVX512 = ("avx512f", "AVX-512")
_AVX2 = ("avx2", "AVX2")
_EXTRAS = (("avx512_vnni", "VNNI"), ("avx_vnni", "AVX-VNNI"), ("avx512_bf16", "BF16"))


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
    model, flags = "unknown CPU", set[str]()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    widest = next((name for flag, name in (_AVX512, _AVX2) if flag in flags), None)
    isa = [] if widest is None else [widest]
    isa += [name for flag, name in _EXTRAS if flag in flags]
    if _AMX[0] in flags:
        isa.append(_AMX[1])
    return HostCpu(model, cores, tuple(isa))


def this_host() -> HostCpu:
    """This machine's CPU, as far as the platform tells (Linux tells all of it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        return host_cpu(cpuinfo.read_text(), cores or 1)
    return HostCpu(platform.processor() or "unknown CPU", cores or 1, ())
