"""What the worker logs of each assignment it gets: its input partitions by topic role."""

from __future__ import annotations

from faust.types import TP

from processors.app import held_input_partitions
from visiontrack.settings import TopicNames


def test_input_partitions_are_listed_by_role_and_the_other_topics_left_out() -> None:
    names = TopicNames(frames="f", video_chunks="c", tracks="t")
    assigned = {
        TP("f", 2),
        TP("f", 0),
        TP("c", 2),
        TP("c", 0),
        TP("t", 0),  # the worker writes tracks, it does not read them
        TP("worker-applied-frames-changelog", 0),
        TP("worker-__assignor-__leader", 0),
    }
    assert held_input_partitions(assigned, names) == {"frames": [0, 2], "video_chunks": [0, 2]}
    assert held_input_partitions(set(), names) == {}
    assert held_input_partitions({TP("c", 1), TP("t", 1)}, names) == {"video_chunks": [1]}
