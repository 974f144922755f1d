"""Each partition's records reach its agent in offset order: gaps are read again, replays
taken, records deleted before they were read gone past."""

from __future__ import annotations

from processors.delivery_order import Gap, PartitionSequences

P = "vt.frames/1"


def _sequences(taken_through: int) -> PartitionSequences[str]:
    sequences: PartitionSequences[str] = PartitionSequences()
    for offset in range(taken_through + 1):
        assert sequences.check(P, offset) is None
    return sequences


def test_in_order_records_and_the_first_after_an_assignment_are_taken() -> None:
    sequences: PartitionSequences[str] = PartitionSequences()
    assert sequences.check(P, 41) is None  # wherever the committed offset put it
    assert sequences.check(P, 42) is None
    assert sequences.check("vt.frames/0", 7) is None  # partitions are counted apart


def test_records_read_again_after_a_seek_back_are_taken() -> None:
    # A rebalance seeks to the committed offset: the agent sees what it took again (the
    # applied-frames check skips those frames) and goes on.
    sequences = _sequences(255)
    assert [sequences.check(P, o) for o in range(250, 258)] == [None] * 8


def test_a_jump_is_a_gap_read_again_once_with_the_records_after_it_held_back() -> None:
    sequences = _sequences(255)
    assert sequences.check(P, 274) == Gap(256, 273, seek=True)
    assert Gap(256, 273, seek=True).count == 18
    # Fetched before the seek: held back, no second seek.
    assert sequences.check(P, 275) == Gap(256, 274, seek=False)
    assert sequences.check(P, 276) == Gap(256, 275, seek=False)
    # The read from the seek: all taken, the held-back ones when they come again.
    assert [sequences.check(P, o) for o in range(256, 280)] == [None] * 24
    assert sequences.check(P, 281) == Gap(280, 280, seek=True)  # a new gap, a new seek


def test_a_read_from_the_seek_that_loses_its_first_records_too_is_sought_again() -> None:
    sequences = _sequences(255)
    assert sequences.check(P, 270) == Gap(256, 269, seek=True)
    assert sequences.check(P, 271) == Gap(256, 270, seek=False)  # fetched before the seek
    assert sequences.check(P, 271) == Gap(256, 270, seek=False)  # and delivered again
    # A step back: the read from the seek, which began past 256: read again.
    assert sequences.check(P, 262) == Gap(256, 261, seek=True)
    assert sequences.check(P, 263) == Gap(256, 262, seek=False)
    assert [sequences.check(P, o) for o in range(256, 272)] == [None] * 16


def test_records_deleted_before_they_were_read_are_gone_past() -> None:
    sequences = _sequences(255)
    assert sequences.check(P, 270) == Gap(256, 269, seek=True)
    sequences.start_at(P, 264)  # the log's earliest offset now
    assert sequences.check(P, 270) == Gap(264, 269, seek=True)  # read again from there
    assert [sequences.check(P, o) for o in range(264, 272)] == [None] * 8


def test_a_partition_held_through_a_rebalance_is_kept_and_a_new_one_forgotten() -> None:
    sequences = _sequences(255)
    assert sequences.check("vt.frames/0", 90) is None
    sequences.keep_only({P})
    assert sequences.check(P, 300) == Gap(256, 299, seek=True)  # still expects 256
    assert sequences.check("vt.frames/0", 500) is None  # came anew: anywhere goes
    sequences.keep_only(set())
    assert sequences.check(P, 700) is None  # a gap being read again is forgotten too
    assert sequences.check(P, 701) is None


def test_the_gap_being_read_again_is_known_until_its_first_record_is_taken() -> None:
    sequences = _sequences(255)
    assert sequences.rereading(P) is None
    assert sequences.check(P, 274) == Gap(256, 273, seek=True)
    assert sequences.check(P, 275) == Gap(256, 274, seek=False)
    assert sequences.rereading(P) == 256
    assert sequences.check(P, 256) is None
    assert sequences.rereading(P) is None


def test_a_partition_that_came_anew_is_taken_from_its_committed_offset() -> None:
    sequences: PartitionSequences[str] = PartitionSequences()
    sequences.expect_first(P, 40)  # where the consumer sought it
    assert sequences.check(P, 45) == Gap(40, 44, seek=True)  # 40-44 lost on the way
    assert [sequences.check(P, o) for o in range(40, 47)] == [None] * 7
    held = _sequences(255)
    held.expect_first(P, 200)  # held through the rebalance: it goes on where it was
    assert held.check(P, 256) is None
