"""Topic ``dead-letter``: a record that could not be processed, with the reason."""

from __future__ import annotations

from typing import ClassVar

from schemas.codec import WireModel

__all__ = ["DeadLetter"]


class DeadLetter(WireModel):
    kind: ClassVar[str] = "dead_letter"
    version: ClassVar[int] = 1

    topic: str
    partition: int
    offset: int
    key: bytes | None
    reason: str
    payload: bytes
    failed_at: float
    stage: str
