"""Parsing camera sources and stream ids; credentials never reach logs or the database."""

from __future__ import annotations

import pytest

from producers.sources.camera import (
    CameraKind,
    assign_stream_ids,
    parse_camera,
    redact_url,
    split_stream_id,
)


@pytest.mark.parametrize(
    ("text", "kind", "index", "seed"),
    [
        ("rtsp://10.0.0.5:554/stream1", CameraKind.URL, None, None),
        ("rtsps://cam.example/live", CameraKind.URL, None, None),
        ("http://127.0.0.1:8080/video.mjpg", CameraKind.URL, None, None),
        ("https://cams.example/hls/lobby.m3u8", CameraKind.URL, None, None),
        ("0", CameraKind.DEVICE, 0, None),
        ("12", CameraKind.DEVICE, 12, None),
        ("/dev/video2", CameraKind.DEVICE, None, None),
        ("synthetic://seed/7", CameraKind.SYNTHETIC, None, 7),
    ],
)
def test_sources_are_recognized(
    text: str, kind: CameraKind, index: int | None, seed: int | None
) -> None:
    spec = parse_camera(text)
    assert (spec.kind, spec.device_index, spec.seed, spec.target) == (kind, index, seed, text)


@pytest.mark.parametrize(
    "text", ["", "ftp://host/x", "video.mp4", "/dev/sda", "rtsp://", "-1", "synthetic://x"]
)
def test_other_text_is_refused_with_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="expected an rtsp://"):
        parse_camera(text)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/s1", "rtsp://admin:***@10.0.0.5:554/s1"),
        ("http://u:p@cam.example/v.mjpg?q=1", "http://u:***@cam.example/v.mjpg?q=1"),
        ("rtsp://[::1]:8554/x", "rtsp://[::1]:8554/x"),
        ("rtsp://user:pw@[fe80::1]/x", "rtsp://user:***@[fe80::1]/x"),
        ("rtsp://10.0.0.5/s1", "rtsp://10.0.0.5/s1"),
    ],
)
def test_passwords_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert parse_camera(url).description == shown


def test_an_unparsable_source_does_not_echo_its_password() -> None:
    with pytest.raises(ValueError) as info:
        parse_camera("ftp://admin:s3cret@host/x")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lobby=rtsp://cam/1", ("lobby", "rtsp://cam/1")),
        ("cam-2.b_c=0", ("cam-2.b_c", "0")),
        ("http://cam/v.mjpg?user=a", (None, "http://cam/v.mjpg?user=a")),
        ("rtsp://cam/1", (None, "rtsp://cam/1")),
    ],
)
def test_a_source_may_carry_its_stream_id(text: str, expected: tuple[str | None, str]) -> None:
    assert split_stream_id(text) == expected


def test_stream_ids_for_one_and_several_sources() -> None:
    single = assign_stream_ids(["rtsp://cam/1"], "door")
    assert [(sid, spec.target) for sid, spec in single] == [("door", "rtsp://cam/1")]
    several = assign_stream_ids(["a=rtsp://cam/1", "b=0"], None)
    assert [(sid, spec.kind) for sid, spec in several] == [
        ("a", CameraKind.URL),
        ("b", CameraKind.DEVICE),
    ]


@pytest.mark.parametrize(
    ("sources", "stream_id", "message"),
    [
        ([], None, "at least one"),
        (["rtsp://cam/1"], None, "--stream-id is required"),
        (["a=rtsp://cam/1", "rtsp://cam/2"], None, "write each as ID=SOURCE"),
        (["a=rtsp://cam/1", "b=0"], "x", "names a single source"),
        (["a=rtsp://cam/1", "a=0"], None, "given twice: a"),
    ],
)
def test_missing_or_ambiguous_stream_ids_are_refused(
    sources: list[str], stream_id: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        assign_stream_ids(sources, stream_id)
