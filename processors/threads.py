"""Thread pools of the processing libraries, set once per process.

torch runs the networks on an OpenMP pool of every core. DeepSORT's numpy (Kalman filter,
gating, assignment) works on matrices of a few dozen elements, where OpenBLAS threads only
spin, and their spinning slows torch's threads: on 2 cores the frame loop went from 44 to
72 frames/s and a DeepSORT step for 10 boxes from 13.6 to 3.6 ms with BLAS on one thread.

The same holds for torch itself when neither network runs in it (both exported to
OpenVINO or ONNX Runtime, which bring thread pools of their own): torch is left only
Ultralytics' pre- and post-processing, and its pool's threads spin beside the runtime's
after each. Kept to one thread there, the frame loop of an OpenVINO worker (detector and
re-id network) ran at 76.1 against 68.8 frames/s on 2 cores, 22.7 against 26.4 ms of CPU a
frame (five alternating pairs).
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

__all__ = ["single_threaded_blas", "single_threaded_torch", "torch_runs_a_network"]


def single_threaded_blas() -> None:
    """Keep BLAS (OpenBLAS under numpy and scipy) to one thread for the rest of the process.

    threadpoolctl limits the libraries loaded so far; numpy and SciPy each bring their own
    OpenBLAS, and one loaded later (SciPy's, imported after this call) would start with a
    thread per core: DeepSORT's update then took 12-14 ms a frame against 3. Those read
    ``OPENBLAS_NUM_THREADS`` as they load, so it is set too (processes started from this
    one inherit it, as a worker's children would want).
    """
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    threadpool_limits(limits=1, user_api="blas")


def torch_runs_a_network(detector_backend: str, embedder_backend: str) -> bool:
    """Whether the detector or the embedder, by the settings' backends, runs in torch."""
    return "torch" in (detector_backend, embedder_backend)


def single_threaded_torch() -> None:
    """Keep torch's intra-op pool to one thread: call it on the thread that will run torch
    (OpenMP's thread count is kept per thread; threads started later read torch's)."""
    import torch

    torch.set_num_threads(1)
