"""The running stack's state file, shared by ``up``, ``down``, ``status`` and clients.

``visiontrack up`` writes ``<data dir>/run/stack.json`` with its pid, the children's pids
and the Kafka bootstrap servers; other commands read it to find the bundled broker.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from visiontrack.settings import Settings

__all__ = ["NoKafkaError", "StackState", "pid_alive", "read_state", "resolve_bootstrap"]


class NoKafkaError(RuntimeError):
    """No Kafka is configured and no running stack provides one."""


@dataclass(slots=True)
class StackState:
    pid: int
    bootstrap: str
    bundled_broker: bool
    api_url: str
    dashboard_url: str | None
    children: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)


def state_path(settings: Settings) -> Path:
    return settings.run_dir / "stack.json"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        # Without procfs (not Linux) the signal check is all we have; with it, the
        # process exited between the two checks.
        return not Path("/proc").is_dir()
    return status.rsplit(")", 1)[-1].split()[0] != "Z"


def read_state(settings: Settings) -> StackState | None:
    """The state of a running stack, or None if none runs (a stale file is ignored)."""
    path = state_path(settings)
    try:
        state = StackState(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    return state if pid_alive(state.pid) else None


def resolve_bootstrap(settings: Settings) -> str:
    """Configured bootstrap servers, else those of the running stack's bundled broker."""
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    state = read_state(settings)
    if state is None:
        raise NoKafkaError(
            "no Kafka configured (VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS) and no running stack "
            f"in {settings.data_dir}: start one with `visiontrack up`"
        )
    return state.bootstrap
