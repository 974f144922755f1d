"""JPEG encoding within a size limit: a frame never goes out larger than its message allows.

A frame whose JPEG is over the limit is scaled down (same quality) until it fits; detectors
run at a few hundred pixels anyway, so a smaller image loses less than heavy compression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["EncodeError", "Jpeg", "encode_jpeg", "fit_jpeg"]

MIN_SIDE = 16
MAX_ATTEMPTS = 12


class EncodeError(RuntimeError):
    """A frame could not be JPEG-encoded (within its size limit)."""


@dataclass(frozen=True, slots=True)
class Jpeg:
    data: bytes
    width: int
    height: int
    scaled: bool  # resized to fit the limit


def encode_jpeg(image: npt.NDArray[np.uint8], quality: int) -> bytes:
    """``image`` ((H, W, 3) uint8 BGR) as JPEG at ``quality`` (1-100)."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise EncodeError(f"JPEG encoding failed for a {image.shape} image")
    return bytes(jpeg.tobytes())


def fit_jpeg(image: npt.NDArray[np.uint8], *, quality: int, max_bytes: int | None) -> Jpeg:
    """``image`` as JPEG of at most ``max_bytes`` (None: no limit), scaled down if needed.

    Each retry shrinks the area in proportion to the overshoot (JPEG size grows about
    linearly with the pixel count), with a 10 % margin; raises :class:`EncodeError` if the
    image would have to shrink below ``MIN_SIDE`` pixels.
    """
    height, width = image.shape[:2]
    data = encode_jpeg(image, quality)
    if max_bytes is None or len(data) <= max_bytes:
        return Jpeg(data, width, height, scaled=False)
    scale = 1.0
    for _ in range(MAX_ATTEMPTS):
        scale *= min(0.9, 0.9 * math.sqrt(max_bytes / len(data)))
        size = (round(width * scale), round(height * scale))
        if min(size) < MIN_SIDE:
            break
        smaller = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        data = encode_jpeg(smaller, quality)
        if len(data) <= max_bytes:
            return Jpeg(data, size[0], size[1], scaled=True)
    raise EncodeError(
        f"a {width}x{height} frame does not fit in {max_bytes} bytes as JPEG at quality {quality}"
    )
