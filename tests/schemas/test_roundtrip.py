from __future__ import annotations

import msgpack
import pytest

from schemas.codec import MessageDecodeError, WireModel
from schemas.dead_letters import DeadLetter
from schemas.frames import FrameMessage
from schemas.jobs import JobProgress, JobState
from schemas.tracks import DetectedObject, FrameTracks, TrackedObject
from schemas.video_chunks import VideoChunk

SAMPLES: list[WireModel] = [
    FrameMessage(
        stream_id="cam-1",
        frame_no=7,
        captured_at=1_700_000_000.25,
        source="rtsp://cam/1",
        width=640,
        height=480,
        jpeg=b"\xff\xd8\xff\xe0" + bytes(range(256)),
        job_id="job-1",
        total_frames=None,
    ),
    VideoChunk(
        stream_id="cam-1",
        chunk_no=3,
        first_frame_no=90,
        frame_count=30,
        container="mpegts",
        codec="h264",
        fps=30.0,
        captured_at=1_700_000_001.0,
        data=b"\x47" * 188,
        is_last=True,
    ),
    FrameTracks(
        stream_id="cam-1",
        frame_no=7,
        captured_at=1_700_000_000.25,
        processed_at=1_700_000_000.5,
        width=640,
        height=480,
        detections=(
            DetectedObject(class_id=2, confidence=0.9, x1=1.5, y1=2.0, x2=30.0, y2=40.25),
            DetectedObject(class_id=0, confidence=0.3, x1=100.0, y1=2.0, x2=130.0, y2=80.0),
        ),
        tracks=(
            TrackedObject(
                track_id=4,
                class_id=2,
                class_name="car",
                confidence=0.9,
                x1=1.5,
                y1=2.0,
                x2=30.0,
                y2=40.25,
            ),
        ),
        job_id="job-1",
        total_frames=250,
        detect_ms=12.5,
        track_ms=3.0,
    ),
    JobProgress(
        job_id="job-1",
        stream_id="cam-1",
        state=JobState.DONE,
        frames_processed=250,
        total_frames=250,
        updated_at=1_700_000_002.0,
    ),
    DeadLetter(
        topic="frames",
        partition=1,
        offset=42,
        key=b"cam-1",
        reason="bad",
        payload=b"\x00",
        failed_at=1.0,
        stage="decode-message",
    ),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip_preserves_every_field(message: WireModel) -> None:
    decoded = type(message).from_bytes(message.to_bytes())
    assert decoded == message
    assert type(decoded) is type(message)


def test_binary_payload_is_not_base64_inflated() -> None:
    frame = SAMPLES[0]
    assert isinstance(frame, FrameMessage)
    assert len(frame.to_bytes()) < len(frame.jpeg) + 200


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"\xc1garbage", "not a msgpack record"),
        (msgpack.packb([1, 2, 3]), "missing envelope"),
        (msgpack.packb({"kind": "frame_tracks", "v": 1, "body": {}}), "expected kind 'frame'"),
        (msgpack.packb({"kind": "frame", "v": 99, "body": {}}), "unsupported frame version 99"),
        (msgpack.packb({"kind": "frame", "v": 1, "body": {"stream_id": "x"}}), "invalid frame"),
    ],
)
def test_malformed_records_raise_decode_error(payload: bytes, match: str) -> None:
    with pytest.raises(MessageDecodeError, match=match):
        FrameMessage.from_bytes(payload)


def test_a_frame_with_negative_number_is_rejected() -> None:
    body = SAMPLES[0].model_dump() | {"frame_no": -1}
    packed = msgpack.packb({"kind": "frame", "v": 1, "body": body}, use_bin_type=True)
    with pytest.raises(MessageDecodeError, match="frame_no"):
        FrameMessage.from_bytes(packed)
