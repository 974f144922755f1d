"""The host line of the benchmarks, from /proc/cpuinfo text."""

from __future__ import annotations

import os

import pytest

from benchmarks.host import HostCpu, host_cpu, this_host

INTEL_AMX = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: sse2 avx2 avx512f avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: sse2 avx2 avx512f avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""
AMD_AVX2 = """processor\t: 0
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx fma avx2 bmi2
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes
"""


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        (
            INTEL_AMX,
            HostCpu(
                "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz",
                2,
                ("AVX-512", "VNNI", "AVX-VNNI", "BF16", "AMX"),
            ),
        ),
        (AMD_AVX2, HostCpu("AMD EPYC", 2, ("AVX2",))),
        (ARM, HostCpu("unknown CPU", 2, ())),
    ],
)
def test_the_cpu_and_its_vector_extensions_are_read(cpuinfo: str, expected: HostCpu) -> None:
    assert host_cpu(cpuinfo, 2) == expected


def test_the_description_names_what_was_found() -> None:
    assert host_cpu(AMD_AVX2, 2).describe() == "AMD EPYC, 2 cores, AVX2"
    assert host_cpu(ARM, 4).describe() == "unknown CPU, 4 cores, vector extensions unknown"


def test_this_host_counts_the_cores_it_may_use() -> None:
    assert this_host().cores == len(os.sched_getaffinity(0))
