"""DeepSORT's Kalman filter with its arithmetic unchanged and its per-call overhead gone.

deep-sort-realtime's :class:`~deep_sort_realtime.deep_sort.kalman_filter.KalmanFilter` is
called for every track on every frame (predict), for every matched track (update) and for
every track at every level of the matching cascade (gating). On 8x8 matrices the work is
small and most of a call's time goes to wrappers: ``np.linalg.multi_dot`` choosing an order,
``np.r_`` building the noise vector, and SciPy's checked, batch-aware ``cho_factor``,
``cho_solve`` and ``solve_triangular``. :class:`LeanKalmanFilter` makes the same NumPy and
LAPACK calls on the same operands in the same order (``multi_dot`` of three equal-cost
matrices is ``A @ (B @ C)``; SciPy's routines end in ``potrf``, ``potrs`` and ``trtrs``), so
its results are bit-for-bit the parent's: a tracker restored from a snapshot taken with
either continues exactly as the other would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter
from scipy.linalg import LinAlgError
from scipy.linalg.lapack import dpotrf, dpotrs, dtrtrs

__all__ = ["LeanKalmanFilter"]

Array = npt.NDArray[np.float64]


class LeanKalmanFilter(KalmanFilter):  # type: ignore[misc]
    """:class:`KalmanFilter`, computing exactly what it computes. States other than
    float64 and gating against no measurements are left to the parent."""

    def __init__(self) -> None:
        super().__init__()
        # Views as the parent takes them at every call: same memory layout, same BLAS path.
        self._motion_t = self._motion_mat.T
        self._update_t = self._update_mat.T

    def predict(self, mean: Array, covariance: Array) -> tuple[Array, Array]:
        position = self._std_weight_position * mean[3]
        velocity = self._std_weight_velocity * mean[3]
        std = np.array([position, position, 1e-2, position, velocity, velocity, 1e-5, velocity])
        motion_cov = np.diag(np.square(std))
        mean = np.dot(self._motion_mat, mean)
        covariance = np.dot(self._motion_mat, np.dot(covariance, self._motion_t)) + motion_cov
        return mean, covariance

    def project(self, mean: Array, covariance: Array) -> tuple[Array, Array]:
        position = self._std_weight_position * mean[3]
        innovation_cov = np.diag(np.square(np.array([position, position, 1e-1, position])))
        mean = np.dot(self._update_mat, mean)
        covariance = np.dot(self._update_mat, np.dot(covariance, self._update_t))
        return mean, covariance + innovation_cov

    def update(
        self, mean: Array, covariance: Array, measurement: npt.NDArray[Any]
    ) -> tuple[Array, Array]:
        if not _float64(mean, covariance):
            return super().update(mean, covariance, measurement)  # type: ignore[no-any-return]
        projected_mean, projected_cov = self.project(mean, covariance)
        # scipy.linalg.cho_factor(projected_cov, lower=True, check_finite=False)
        chol_factor, info = dpotrf(projected_cov, lower=True, overwrite_a=False, clean=False)
        if info > 0:
            raise LinAlgError(f"{info}-th leading minor of the array is not positive definite")
        _check(info, "potrf")
        # scipy.linalg.cho_solve((chol_factor, True), ..., check_finite=False)
        gain_t, info = dpotrs(
            chol_factor, np.dot(covariance, self._update_t).T, lower=True, overwrite_b=False
        )
        _check(info, "potrs")
        kalman_gain = gain_t.T
        innovation = measurement - projected_mean
        new_mean = mean + np.dot(innovation, kalman_gain.T)
        new_covariance = covariance - np.dot(kalman_gain, np.dot(projected_cov, kalman_gain.T))
        return new_mean, new_covariance

    def gating_distance(
        self,
        mean: Array,
        covariance: Array,
        measurements: npt.NDArray[Any],
        only_position: bool = False,
    ) -> Array:
        if not _float64(mean, covariance) or not len(measurements):
            return super().gating_distance(  # type: ignore[no-any-return]
                mean, covariance, measurements, only_position
            )
        mean, covariance = self.project(mean, covariance)
        if only_position:
            mean, covariance = mean[:2], covariance[:2, :2]
            measurements = measurements[:, :2]
        cholesky_factor = np.linalg.cholesky(covariance)
        d = measurements - mean
        # scipy.linalg.solve_triangular(cholesky_factor, d.T, lower=True, ...): a C-ordered
        # factor is solved as its transpose, which is what LAPACK reads.
        z, info = dtrtrs(cholesky_factor.T, d.T, lower=False, trans=1, overwrite_b=True)
        if info > 0:
            raise LinAlgError(f"singular matrix: resolution failed at diagonal {info - 1}")
        _check(info, "trtrs")
        squared_maha: Array = np.sum(z * z, axis=0)
        return squared_maha


def _float64(mean: npt.NDArray[Any], covariance: npt.NDArray[Any]) -> bool:
    """Whether the LAPACK routines SciPy would pick for this state are the double ones
    called here (a track's first state is float32 until its first prediction)."""
    return mean.dtype == np.float64 and covariance.dtype == np.float64


def _check(info: int, routine: str) -> None:
    if info < 0:
        raise ValueError(f"illegal value in argument {-info} of LAPACK {routine}")
