"""Binary wire format shared by every topic: a msgpack map validated by a pydantic model.

msgpack carries JPEG bytes and video chunks as raw binary (no base64), and pydantic checks
every field on the way in, so a malformed record fails in :meth:`WireModel.from_bytes` with
a :class:`MessageDecodeError` that the consumer can route to the dead-letter topic.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import msgpack
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["MessageDecodeError", "WireModel"]


class MessageDecodeError(ValueError):
    """A record could not be decoded into the topic's model."""


class WireModel(BaseModel):
    """Base of all topic models. Subclasses set ``kind`` and ``version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str]
    version: ClassVar[int]

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = self.model_dump(mode="python")
        packed: bytes = msgpack.packb(
            {"kind": self.kind, "v": self.version, "body": body}, use_bin_type=True
        )
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            envelope = msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise MessageDecodeError(f"not a msgpack record: {exc}") from exc
        if not isinstance(envelope, dict) or not {"kind", "v", "body"} <= envelope.keys():
            raise MessageDecodeError("missing envelope fields kind/v/body")
        if envelope["kind"] != cls.kind:
            raise MessageDecodeError(f"expected kind {cls.kind!r}, got {envelope['kind']!r}")
        if envelope["v"] != cls.version:
            raise MessageDecodeError(
                f"unsupported {cls.kind} version {envelope['v']!r} (this build reads {cls.version})"
            )
        try:
            return cls.model_validate(envelope["body"])
        except ValidationError as exc:
            raise MessageDecodeError(f"invalid {cls.kind}: {exc}") from exc
