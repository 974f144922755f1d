"""A generated street scene as a live source: it loops forever, paced at the scene's fps."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from producers.synthetic import SceneConfig, SceneGenerator, paced

__all__ = ["SyntheticCapture", "SyntheticSource"]


class SyntheticCapture:
    def __init__(self, images: Iterator[npt.NDArray[np.uint8]]) -> None:
        self._images = images

    def read(self) -> npt.NDArray[np.uint8]:
        return next(self._images)

    def close(self) -> None:
        return None


class SyntheticSource:
    """The scene of ``seed``, played in a loop in real time like a camera."""

    def __init__(self, seed: int, config: SceneConfig | None = None) -> None:
        self.scene = SceneGenerator(seed, config)

    @property
    def description(self) -> str:
        return f"synthetic://seed/{self.scene.seed}"

    def _forever(self) -> Iterator[npt.NDArray[np.uint8]]:
        while True:
            yield from (frame.image for frame in self.scene.frames())

    def open(self) -> SyntheticCapture:
        return SyntheticCapture(paced(self._forever(), self.scene.config.fps))
