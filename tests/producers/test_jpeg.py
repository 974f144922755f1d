"""JPEG frames within a size limit: oversize frames are scaled down, never sent oversize."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from processors.pipeline.frame_processor import decode_jpeg
from producers.frames import encode_image, frame_overhead
from producers.jpeg import EncodeError, encode_jpeg, fit_jpeg


def _noisy(height: int, width: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    """Noise compresses badly: a worst case for JPEG size."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_a_frame_within_the_limit_is_sent_as_is() -> None:
    image = _noisy(48, 64)
    jpeg = fit_jpeg(image, quality=90, max_bytes=1_000_000)
    assert (jpeg.width, jpeg.height, jpeg.scaled) == (64, 48, False)
    assert jpeg.data == encode_jpeg(image, 90)


@pytest.mark.parametrize("max_bytes", [200_000, 60_000, 20_000])
def test_an_oversize_frame_is_scaled_down_until_it_fits(max_bytes: int) -> None:
    image = _noisy(720, 1280)
    assert len(encode_jpeg(image, 90)) > max_bytes
    jpeg = fit_jpeg(image, quality=90, max_bytes=max_bytes)
    assert jpeg.scaled
    assert len(jpeg.data) <= max_bytes
    assert jpeg.width < 1280 and jpeg.height < 720
    assert jpeg.width / jpeg.height == pytest.approx(1280 / 720, rel=0.02)  # aspect kept
    decoded = decode_jpeg(jpeg.data)
    assert decoded.shape == (jpeg.height, jpeg.width, 3)


def test_scaling_keeps_as_much_as_the_limit_allows() -> None:
    image = _noisy(720, 1280)
    max_bytes = 200_000
    jpeg = fit_jpeg(image, quality=90, max_bytes=max_bytes)
    assert len(jpeg.data) > max_bytes * 0.5  # not shrunk far more than needed


def test_a_limit_no_image_can_meet_is_an_error() -> None:
    with pytest.raises(EncodeError, match="does not fit in 200 bytes"):
        fit_jpeg(_noisy(480, 640), quality=90, max_bytes=200)


def test_the_whole_message_fits_the_limit_not_just_the_jpeg() -> None:
    image = _noisy(480, 640)
    jpeg_size = len(encode_jpeg(image, 90))
    source = "rtsp://camera.example/" + "x" * 300
    # A limit the JPEG alone meets, but not with the message around it.
    limit = jpeg_size + frame_overhead("cam", source, None) - 10
    message = encode_image(
        image, stream_id="cam", frame_no=7, source=source, jpeg_quality=90, max_bytes=limit
    )
    assert len(message.to_bytes()) <= limit
    assert message.width < 640
    assert (message.frame_no, message.source) == (7, source)


def test_without_a_limit_the_frame_keeps_its_size() -> None:
    message = encode_image(
        _noisy(480, 640), stream_id="cam", frame_no=0, source="x", jpeg_quality=90
    )
    assert (message.width, message.height) == (640, 480)
