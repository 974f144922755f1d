"""Per-sequence box rows: ground truth or tracker output, as parallel arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BoxRows"]


@dataclass(frozen=True, slots=True)
class BoxRows:
    """N boxes of one sequence.

    ``frames`` (N,) int 0-based frame index, ``ids`` (N,) int track id, ``classes`` (N,)
    int class id, ``xyxy`` (N, 4) float pixels, ``scores`` (N,) float: detection confidence
    for tracker output, visibility in [0, 1] for ground truth.
    """

    frames: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    classes: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.frames)
        if not (len(self.ids) == len(self.classes) == len(self.scores) == n):
            raise ValueError("BoxRows arrays differ in length")
        if self.xyxy.shape != (n, 4):
            raise ValueError(f"xyxy must be ({n}, 4), got {self.xyxy.shape}")

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def from_lists(
        cls,
        frames: list[int],
        ids: list[int],
        classes: list[int],
        xyxy: list[tuple[float, float, float, float]],
        scores: list[float],
    ) -> BoxRows:
        return cls(
            np.asarray(frames, dtype=np.int64),
            np.asarray(ids, dtype=np.int64),
            np.asarray(classes, dtype=np.int64),
            np.asarray(xyxy, dtype=np.float64).reshape(-1, 4),
            np.asarray(scores, dtype=np.float64),
        )

    def at(self, frame: int) -> BoxRows:
        """The rows of one frame."""
        return self.subset(self.frames == frame)

    def subset(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> BoxRows:
        """The rows selected by a boolean mask or an index array."""
        return BoxRows(
            self.frames[keep],
            self.ids[keep],
            self.classes[keep],
            self.xyxy[keep],
            self.scores[keep],
        )

    def per_frame(self, num_frames: int) -> list[BoxRows]:
        """Rows of frames ``0 .. num_frames - 1``, split in one pass."""
        order = np.argsort(self.frames, kind="stable")
        bounds = np.searchsorted(self.frames[order], np.arange(num_frames + 1))
        return [self.subset(order[bounds[t] : bounds[t + 1]]) for t in range(num_frames)]
