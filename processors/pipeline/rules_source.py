"""Each stream's analytics rules, read from the database and refreshed while the worker runs.

Rules are edited through the API (``PUT /v1/streams/{id}/rules``) and stored per stream;
the worker reloads all of them every ``analytics_rules_refresh_s`` seconds, so a change is
picked up without a restart. A stored configuration that no longer validates is logged
with its stream id and the stream keeps the rules it had.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from processors.analytics.rules import StreamRules
from visiontrack import repository
from visiontrack.db import session_scope

__all__ = ["RulesSource"]

log = logging.getLogger(__name__)


class RulesSource:
    """``rules_of(stream_id)`` from the last successful :meth:`reload`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._rules: dict[str, StreamRules] = {}

    def rules_of(self, stream_id: str) -> StreamRules | None:
        return self._rules.get(stream_id)

    def reload(self) -> None:
        """Read every stream's rules (blocking: run it off the event loop)."""
        try:
            with session_scope(self._sessions) as session:
                stored = repository.analytics_rules(session)
        except SQLAlchemyError as exc:
            log.error("cannot read analytics rules, keeping the current ones: %s", exc)
            return
        self.update(stored)

    def update(self, stored: Mapping[str, Mapping[str, Any]]) -> None:
        """Take ``{stream_id: rules as stored}``; streams absent from it have no rules."""
        rules: dict[str, StreamRules] = {}
        for stream_id, data in stored.items():
            try:
                rules[stream_id] = StreamRules.from_dict(data)
            except ValueError as exc:
                log.error(
                    "invalid analytics rules ignored: %s", exc, extra={"stream_id": stream_id}
                )
                if stream_id in self._rules:
                    rules[stream_id] = self._rules[stream_id]
        changed = sorted(
            s for s in rules.keys() | self._rules.keys() if rules.get(s) != self._rules.get(s)
        )
        if changed:
            log.info("analytics rules loaded", extra={"streams": changed})
        self._rules = rules
