"""Thread pools: BLAS kept to one thread, and torch only where no network runs in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from processors.threads import torch_runs_a_network

_COUNT_THREADS = """
import threading
import torch
from processors.threads import single_threaded_torch
before = torch.get_num_threads()
if {limit}:
    single_threaded_torch()
seen = []
later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
later.start()
later.join()
print(before, torch.get_num_threads(), seen[0])
"""


@pytest.mark.parametrize(
    ("detector", "embedder", "runs"),
    [
        ("torch", "torch", True),
        ("openvino", "torch", True),
        ("torch", "openvino", True),
        ("onnx", "torch", True),
        ("openvino", "openvino", False),
        ("onnx", "onnx", False),
        ("onnx", "openvino", False),
    ],
)
def test_torch_runs_a_network_unless_both_are_exported(
    detector: str, embedder: str, runs: bool
) -> None:
    assert torch_runs_a_network(detector, embedder) is runs


def _run(script: str, limit: bool, env: dict[str, str] | None = None) -> str:
    """What ``script``, formatted with ``limit``, prints in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", script.format(limit=limit)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout


def _threads(limit: bool) -> list[int]:
    return [int(n) for n in _run(_COUNT_THREADS, limit).split()]


def test_single_threaded_torch_holds_for_the_caller_and_threads_started_later() -> None:
    before, caller, later = _threads(limit=True)
    assert (caller, later) == (1, 1)
    # Without it, torch keeps its own default in both (every core: more than one on CI).
    untouched = _threads(limit=False)
    assert untouched == [before, before, before]


_BLAS_THREADS = """
import json
from processors.threads import single_threaded_blas
if {limit}:
    single_threaded_blas()
import numpy, scipy.linalg, scipy.optimize  # each brings its own OpenBLAS, loaded only now
from threadpoolctl import threadpool_info
print(json.dumps([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]))
"""


def _blas_threads(limit: bool) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    threads: list[int] = json.loads(_run(_BLAS_THREADS, limit, env))
    return threads


def test_single_threaded_blas_holds_for_blas_libraries_loaded_later() -> None:
    limited = _blas_threads(limit=True)
    assert len(limited) >= 2 and set(limited) == {1}  # numpy's and SciPy's
    # Without it, OpenBLAS starts a thread per core: more than one on CI's two.
    assert min(_blas_threads(limit=False)) > 1
