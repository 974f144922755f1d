"""Thread pools of the processing libraries, set once per process.

torch runs the networks on an OpenMP pool of every core. DeepSORT's numpy (Kalman filter,
gating, assignment) works on matrices of a few dozen elements, where OpenBLAS threads only
spin, and their spinning slows torch's threads: on 2 cores the frame loop went from 44 to
72 frames/s and a DeepSORT step for 10 boxes from 13.6 to 3.6 ms with BLAS on one thread.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

__all__ = ["single_threaded_blas"]


def single_threaded_blas() -> None:
    """Keep BLAS (OpenBLAS under numpy and scipy) to one thread for the rest of the process."""
    threadpool_limits(limits=1, user_api="blas")
