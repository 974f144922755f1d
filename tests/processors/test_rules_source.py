"""The worker's rules: reloaded from the database; a configuration that no longer validates
leaves the stream with the rules it had."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.orm import Session, sessionmaker

from processors.pipeline.rules_source import RulesSource

LINE = {"lines": [{"id": "door", "name": "door", "start": [0, 10], "end": [100, 10]}]}


def test_reloads_pick_up_changes_and_keep_the_last_valid_rules(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = RulesSource(sessionmaker[Session]())
    assert source.rules_of("cam") is None
    source.update({"cam": LINE})
    rules = source.rules_of("cam")
    assert rules is not None and [line.id for line in rules.lines] == ["door"]

    broken = {"lines": [{"id": "door", "name": "door", "start": [0, 10]}]}  # no end
    with caplog.at_level(logging.ERROR):
        source.update({"cam": broken, "new": broken})
    assert source.rules_of("cam") == rules and source.rules_of("new") is None
    assert {getattr(r, "stream_id", None) for r in caplog.records} == {"cam", "new"}

    source.update({})
    assert source.rules_of("cam") is None
