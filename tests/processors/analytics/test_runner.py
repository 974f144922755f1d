"""The worker's analytics runner: rules per stream, restore from the table after a restart
or a rebalance, redelivered frames ignored."""

from __future__ import annotations

from processors.analytics import LineRule, StreamRules
from processors.analytics.runner import AnalyticsRunner, Applied
from schemas.tracks import FrameTracks, TrackedObject

LINE = StreamRules(lines=(LineRule("door", "door", (0.0, 100.0), (200.0, 100.0)),))


def _frame(stream_id: str, frame_no: int, y: float) -> FrameTracks:
    """One person whose feet are at (50, y)."""
    person = TrackedObject(
        track_id=1, class_id=0, class_name="person", confidence=0.9, x1=45, y1=y - 20, x2=55, y2=y
    )
    return FrameTracks(
        stream_id=stream_id,
        frame_no=frame_no,
        captured_at=1000.0 + frame_no,
        processed_at=0.0,
        width=200,
        height=200,
        tracks=(person,),
    )


WALK = [60.0, 75.0, 90.0, 104.0, 125.0, 140.0]  # down across y = 100: one "in" crossing


class Table(dict[str, bytes]):
    """Stands in for the Faust table: what the worker stores after each frame."""

    def run(self, runner: AnalyticsRunner, frame: FrameTracks) -> Applied | None:
        applied = runner.apply(frame, self.get(frame.stream_id))
        if applied is not None:
            self[frame.stream_id] = applied.snapshot
        return applied


def _crossings(results: list[Applied | None]) -> list[tuple[int, str | None]]:
    return [
        (r.events.frame_no, e.direction)
        for r in results
        if r is not None and r.events is not None
        for e in r.events.events
    ]


def test_a_stream_with_a_line_gets_one_crossing_and_one_without_rules_nothing() -> None:
    runner = AnalyticsRunner(lambda sid: LINE if sid == "cam" else None)
    table = Table()
    results = [table.run(runner, _frame("cam", i, y)) for i, y in enumerate(WALK)]
    assert _crossings(results) == [(4, "in")]
    assert all(table.run(runner, _frame("other", i, y)) is None for i, y in enumerate(WALK))
    assert "other" not in table


def test_a_stream_is_wanted_while_it_has_rules_and_continues_from_the_table_after() -> None:
    rules: dict[str, StreamRules] = {"cam": LINE}
    runner = AnalyticsRunner(rules.get)
    table = Table()
    assert runner.wants("cam")
    assert not runner.wants("other")
    table.run(runner, _frame("cam", 0, WALK[0]))
    table.run(runner, _frame("cam", 1, WALK[1]))
    del rules["cam"]
    assert not runner.wants("cam")
    # Rules back: the stream goes on from its stored state, one crossing in all.
    rules["cam"] = LINE
    results = [table.run(runner, _frame("cam", i, y)) for i, y in enumerate(WALK) if i >= 2]
    assert _crossings(results) == [(4, "in")]


def test_a_new_worker_restores_from_the_table_and_continues_the_same() -> None:
    table = Table()
    first = AnalyticsRunner(lambda sid: LINE)
    before = [table.run(first, _frame("cam", i, y)) for i, y in enumerate(WALK[:3])]
    # the worker dies; another one (no local state) takes the stream with the table
    second = AnalyticsRunner(lambda sid: LINE)
    redelivered = table.run(second, _frame("cam", 2, WALK[2]))
    after = [table.run(second, _frame("cam", i, y)) for i, y in enumerate(WALK) if i >= 3]
    assert redelivered is None  # already applied before the crash
    assert _crossings(before + after) == [(4, "in")]


def test_a_worker_that_owned_a_stream_before_a_rebalance_restores_the_newer_state() -> None:
    table = Table()
    a, b = AnalyticsRunner(lambda sid: LINE), AnalyticsRunner(lambda sid: LINE)
    table.run(a, _frame("cam", 0, WALK[0]))  # a has local state at frame 0
    for i in (1, 2, 3):  # the stream moves to b, which applies frames 1-3
        table.run(b, _frame("cam", i, WALK[i]))
    late = [table.run(a, _frame("cam", i, WALK[i])) for i in (4, 5)]  # and back to a
    assert _crossings(late) == [(4, "in")]  # a continued from b's state, not its own


def test_changed_rules_apply_from_the_next_frame() -> None:
    rules: dict[str, StreamRules | None] = {"cam": None}
    runner = AnalyticsRunner(lambda sid: rules[sid])
    table = Table()
    assert table.run(runner, _frame("cam", 0, WALK[0])) is None
    rules["cam"] = LINE
    results = [table.run(runner, _frame("cam", i, WALK[i])) for i in range(1, 6)]
    assert _crossings(results) == [(4, "in")]
    moved = StreamRules(lines=(LineRule("door", "door", (0.0, 130.0), (200.0, 130.0)),))
    rules["cam"] = moved  # a changed rule starts again: no crossing until a new one
    assert table.run(runner, _frame("cam", 6, 150.0)) is not None
    assert _crossings([table.run(runner, _frame("cam", 7, 120.0))]) == [(7, "out")]


def test_an_unreadable_snapshot_starts_afresh() -> None:
    import msgpack

    table = Table({"cam": msgpack.packb({"version": 99, "last_frame_no": 3})})
    runner = AnalyticsRunner(lambda sid: LINE)
    results = [table.run(runner, _frame("cam", i, y)) for i, y in enumerate(WALK) if i >= 4]
    assert all(r is not None for r in results)
    assert _crossings(results) == []  # the state before frame 4 was lost, not made up
