"""Logging set-up: text for humans, JSON lines for production; stream id on records."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "RepeatedClientMessages", "configure_logging"]

# Attributes every LogRecord has; anything else came through ``extra=`` and is kept.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the record's ``extra`` fields (stream_id, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
        return line


class RepeatedClientMessages(logging.Filter):
    """Lets through one of the Kafka client's messages of a kind (logger, level and
    template) every ``window_s``; the next one let through tells, as ``repeats``, how many
    it stands for. With its broker gone, aiokafka logs four errors every 100 ms for as long
    as it is gone (each try to connect, to update metadata, to fetch), which buried
    everything else a worker said. Other loggers' records all pass."""

    def __init__(
        self,
        window_s: float = 10.0,
        loggers: tuple[str, ...] = ("aiokafka",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._window_s = window_s
        self._loggers = loggers
        self._clock = clock
        # kind -> (when one was last let through, how many were held back since)
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()  # the client logs from the consumer thread too

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._loggers):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            last = self._kinds.get(kind)
            if last is not None and now - last[0] < self._window_s:
                self._kinds[kind] = (last[0], last[1] + 1)
                return False
            self._kinds[kind] = (now, 0)
        if last is not None and last[1]:
            record.repeats = last[1] + 1  # this one and those held back
        return True


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Route all logging to stderr in the chosen format (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RepeatedClientMessages())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # deep-sort-realtime logs its nine settings lines at INFO for every tracker it builds
    # (each new, moved or restored stream), without saying whose.
    noisy_loggers = (
        "aiokafka",
        "alembic",
        "deep_sort_realtime",
        "faust",
        "mode",
        "urllib3",
        "bokeh",
        "tornado",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
