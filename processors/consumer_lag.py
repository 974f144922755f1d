"""Consumer lag: the records of a partition that a consumer group has not committed yet.

Lag is the broker's end offset (its high watermark, the offset the next record written will
get) less the group's committed offset (the next offset the group will read), as Kafka's
``kafka-consumer-groups`` reports it. Both come from what the consumer last heard, with no
request of their own: the end offset rides on every fetch response. Apache Kafka and
Redpanda report it exactly; the bundled broker reports the start of a partition's last
batch + 1, so there the lag is short by up to a batch while a producer batches, and is
never shown below 0.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PartitionOffsets"]


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """What a consumer knows of one of its partitions; None where it does not know yet."""

    topic: str
    partition: int
    end: int | None  # the broker's end offset: the offset of the next record written
    committed: int | None  # the group's committed offset: the next offset it reads

    @property
    def lag(self) -> int | None:
        """Records written but not committed; None until both offsets are known."""
        if self.end is None or self.committed is None or self.end < 0 or self.committed < 0:
            return None
        return max(0, self.end - self.committed)
