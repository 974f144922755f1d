"""Building dead-letter records for messages a stage could not process."""

from __future__ import annotations

import time

from schemas.dead_letters import DeadLetter

__all__ = ["dead_letter"]


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    payload: bytes,
    stage: str,
    reason: str,
) -> DeadLetter:
    return DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        payload=payload,
        stage=stage,
        reason=reason,
        failed_at=time.time(),
    )
