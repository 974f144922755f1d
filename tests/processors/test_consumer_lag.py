"""Consumer lag: the arithmetic, and the gauge's series as partitions come and go."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from processors.consumer_lag import PartitionOffsets
from processors.metrics import ConsumerLagGauge


@pytest.mark.parametrize(
    ("end", "committed", "lag"),
    [
        (250, 100, 150),
        (250, 250, 0),
        # The bundled broker reports the start of the last batch + 1 as the end offset.
        (201, 250, 0),
        (None, 100, None),  # no fetch response for the partition yet
        (250, None, None),  # the group has committed nothing on it yet
        (-1, 0, None),  # librdkafka's "invalid offset"
        (250, -1001, None),
    ],
)
def test_lag_is_end_less_committed_never_below_zero(
    end: int | None, committed: int | None, lag: int | None
) -> None:
    assert PartitionOffsets("frames", 0, end, committed).lag == lag


def _series(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value
        for family in registry.collect()
        if family.name == "visiontrack_consumer_lag"
        for s in family.samples
    }


def test_gauge_shows_known_partitions_and_drops_revoked_ones() -> None:
    registry = CollectorRegistry()
    gauge = ConsumerLagGauge(registry, "workers")
    gauge.record(
        [
            PartitionOffsets("frames", 0, 120, 20),
            PartitionOffsets("frames", 1, 40, None),
            PartitionOffsets("tracks", 0, 7, 7),
        ]
    )
    assert _series(registry) == {
        ("workers", "frames", "0"): 100,
        ("workers", "tracks", "0"): 0,
    }
    # A rebalance took frames/0; frames/1 has a commit now.
    gauge.record([PartitionOffsets("frames", 1, 40, 38), PartitionOffsets("tracks", 0, 9, 7)])
    assert _series(registry) == {
        ("workers", "frames", "1"): 2,
        ("workers", "tracks", "0"): 2,
    }
    gauge.record([])
    assert _series(registry) == {}
