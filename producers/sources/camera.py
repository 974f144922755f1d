"""What ``visiontrack produce camera`` accepts: URLs, device indexes and paths, scenes.

Pure parsing: ``rtsp://``, ``rtsps://``, ``http(s)://`` URLs (MJPEG, HLS, ...), a device
index (``0``) or path (``/dev/video0``), or ``synthetic://seed/N`` for a generated scene
that loops forever. Optionally prefixed by a stream id: ``ID=SOURCE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CameraKind",
    "CameraSpec",
    "assign_stream_ids",
    "parse_camera",
    "redact_url",
    "split_stream_id",
]

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
_DEVICE_PATH = re.compile(r"^/dev/video\d+$")
_SYNTHETIC = re.compile(r"^synthetic://seed/(\d+)$")
_STREAM_ID = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,127})=(.+)$")


class CameraKind(StrEnum):
    URL = "url"
    DEVICE = "device"
    SYNTHETIC = "synthetic"


@dataclass(frozen=True, slots=True)
class CameraSpec:
    kind: CameraKind
    target: str  # the URL or device path as given
    device_index: int | None = None
    seed: int | None = None

    @property
    def description(self) -> str:
        """``target`` without credentials, for logs and the database."""
        return redact_url(self.target) if self.kind is CameraKind.URL else self.target


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (user names are kept)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def split_stream_id(text: str) -> tuple[str | None, str]:
    """``"ID=SOURCE"`` as (ID, SOURCE); a plain source (a URL with ``=`` in its query
    included) as (None, text)."""
    match = _STREAM_ID.match(text)
    if match is None:
        return None, text
    return match.group(1), match.group(2)


def parse_camera(text: str) -> CameraSpec:
    """The source ``text`` names; ValueError saying what is accepted otherwise."""
    text = text.strip()
    if text.isdigit():
        return CameraSpec(CameraKind.DEVICE, text, device_index=int(text))
    if _DEVICE_PATH.match(text):
        return CameraSpec(CameraKind.DEVICE, text)
    synthetic = _SYNTHETIC.match(text)
    if synthetic:
        return CameraSpec(CameraKind.SYNTHETIC, text, seed=int(synthetic.group(1)))
    parts = urlsplit(text)
    if parts.scheme.lower() in URL_SCHEMES and parts.hostname:
        return CameraSpec(CameraKind.URL, text)
    raise ValueError(
        f"not a camera source: {redact_url(text)!r}; expected an rtsp://, http(s):// URL, "
        "a device index or /dev/videoN path, or synthetic://seed/N"
    )


def assign_stream_ids(sources: list[str], stream_id: str | None) -> list[tuple[str, CameraSpec]]:
    """(stream id, source) for each ``[ID=]SOURCE``; ``stream_id`` names a single source.

    ValueError when a stream id is missing, given twice, or a source is not understood.
    """
    if not sources:
        raise ValueError("give at least one source")
    named = [split_stream_id(text) for text in sources]
    if len(named) == 1 and named[0][0] is None:
        if stream_id is None:
            raise ValueError("--stream-id is required (or write the source as ID=SOURCE)")
        named = [(stream_id, named[0][1])]
    elif stream_id is not None:
        raise ValueError("--stream-id names a single source; write several as ID=SOURCE")
    missing = [text for (sid, text) in named if sid is None]
    if missing:
        shown = ", ".join(redact_url(t) for t in missing)
        raise ValueError(f"with several sources, write each as ID=SOURCE: {shown}")
    ids = [sid for sid, _ in named]
    duplicates = sorted({sid for sid in ids if ids.count(sid) > 1 and sid is not None})
    if duplicates:
        raise ValueError(f"stream ids given twice: {', '.join(duplicates)}")
    return [(sid, parse_camera(text)) for sid, text in named if sid is not None]
