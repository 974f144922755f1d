from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from processors.pipeline.frame_processor import decode_jpeg
from producers.frames import SourceFrame, encode_frame, flag_last


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_flag_last_numbers_frames_and_flags_only_the_last(count: int) -> None:
    images = [np.full((4, 4, 3), i, np.uint8) for i in range(count)]
    frames = list(flag_last(iter(images)))
    assert [f.index for f in frames] == list(range(count))
    assert [f.is_last for f in frames] == [i == count - 1 for i in range(count)]
    assert all(int(f.image[0, 0, 0]) == f.index for f in frames)


def test_encode_frame_continues_the_stream_numbering_and_marks_the_total() -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    cv2.rectangle(image, (10, 10), (30, 40), (0, 0, 255), -1)
    first, last = list(flag_last([image, image]))
    a, b = (
        encode_frame(f, stream_id="s", first_frame_no=100, source="x", job_id="j", jpeg_quality=90)
        for f in (first, last)
    )
    assert (a.frame_no, a.total_frames, b.frame_no, b.total_frames) == (100, None, 101, 2)
    assert (a.width, a.height) == (64, 48)
    decoded = decode_jpeg(a.jpeg)
    assert decoded.shape == (48, 64, 3)
    assert abs(int(decoded[25, 20, 2]) - 255) < 10  # the red box survived


def test_a_failing_source_still_yields_the_frame_held_back_then_raises() -> None:
    def images() -> Iterator[npt.NDArray[np.uint8]]:
        for i in range(3):
            yield np.full((2, 2, 3), i, np.uint8)
        raise OSError("damaged at frame 3")

    received = []
    with pytest.raises(OSError, match="damaged"):
        for frame in flag_last(images()):
            received.append(frame)
    assert [f.index for f in received] == [0, 1, 2]
    assert not any(f.is_last for f in received)  # a damaged source has no last frame


def test_a_frame_can_carry_its_own_source_and_capture_time() -> None:
    frame = SourceFrame(0, np.zeros((8, 8, 3), np.uint8), True, captured_at=12.5, source="b.png")
    message = encode_frame(
        frame, stream_id="s", first_frame_no=3, source="folder/", job_id=None, jpeg_quality=80
    )
    assert (message.source, message.captured_at, message.frame_no) == ("b.png", 12.5, 3)
