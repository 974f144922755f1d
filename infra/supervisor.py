"""``visiontrack up``: the stack on one machine, started in order and stopped in reverse.

Start order: migrations → broker (bundled, only without configured Kafka) → topics →
worker → API (which runs the analytics sink and the dashboard when embedded). Children run
in their own sessions, so Ctrl-C reaches only the supervisor, which stops them in reverse
order; :mod:`infra.orphan_guard` has the kernel send them SIGTERM if the supervisor dies.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.broker import BundledBroker
from infra.orphan_guard import guarded
from infra.topics import ensure_topics
from processors.detection.detector import check_model_ref, resolve_model_ref
from processors.tracking.embedder import resolve_embedder_ref
from visiontrack.db import create_db_engine, migrate
from visiontrack.runtime import StackState, read_state, state_path
from visiontrack.settings import Settings

__all__ = ["Stack", "StackError"]

log = logging.getLogger(__name__)


def api_healthy(api_url: str, timeout: float = 3.0) -> bool:
    """Whether ``/health`` answers 200 (not listening yet or 503 both count as no)."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:  # URLError, HTTPError (503), refused and timed-out connections
        return False


class StackError(RuntimeError):
    """The stack could not start or a component died."""


@dataclass(slots=True)
class _Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._broker: BundledBroker | None = None
        self._children: list[_Child] = []
        self._stop = threading.Event()
        self.state: StackState | None = None

    @property
    def logs_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    # Start ----------------------------------------------------------------------------

    def start(self, health_timeout: float = 180.0) -> StackState:
        s = self.settings
        if (running := read_state(s)) is not None:
            raise StackError(f"a stack already runs from {s.data_dir} (pid {running.pid})")
        check_model_ref(resolve_model_ref(s.model))
        resolve_embedder_ref(s.embedder)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_db_engine(s.sqlalchemy_url)
            migrate(engine)
            engine.dispose()
            bootstrap = self._start_broker()
            ensure_topics(s, bootstrap)
            env = self._child_env(bootstrap)
            self._spawn("worker", env)
            self._spawn("api", env)
            self._wait_healthy(health_timeout)
        except BaseException:
            self.stop()
            raise
        self.state = StackState(
            pid=os.getpid(),
            bootstrap=bootstrap,
            bundled_broker=self._broker is not None,
            api_url=self.api_url,
            dashboard_url=self.dashboard_url,
            children={c.name: c.proc.pid for c in self._children}
            | ({"broker": self._broker.pid or 0} if self._broker else {}),
            started_at=time.time(),
        )
        self.state.write(state_path(s))
        log.info("stack up", extra={"api": self.api_url, "bootstrap": bootstrap})
        return self.state

    @property
    def dashboard_url(self) -> str | None:
        s = self.settings
        return f"http://{s.api_host}:{s.dashboard_port}/dashboard" if s.dashboard_enabled else None

    def _start_broker(self) -> str:
        if self.settings.kafka_bootstrap_servers:
            return self.settings.kafka_bootstrap_servers
        self._broker = BundledBroker(log_file=self.logs_dir / "broker.log")
        self._broker.start()
        return self._broker.bootstrap_servers

    def _child_env(self, bootstrap: str) -> dict[str, str]:
        env = dict(os.environ) | self.settings.to_env()
        env["VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        return env

    def _spawn(self, name: str, env: dict[str, str]) -> None:
        log_path = self.logs_dir / f"{name}.log"
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                guarded([sys.executable, "-m", "visiontrack.cli", name]),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._children.append(_Child(name, proc, log_path))
        log.info("started %s", name, extra={"pid": proc.pid, "log": str(log_path)})

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            if self.api_healthy():
                return
            if self._stop.wait(0.5):
                raise StackError("interrupted while starting")
        raise StackError(f"API not healthy at {self.api_url} after {timeout:.0f}s")

    def api_healthy(self) -> bool:
        return api_healthy(self.api_url)

    def _check_children(self) -> None:
        for child in self._children:
            code = child.proc.poll()
            if code is not None:
                tail = child.log_path.read_text(errors="replace")[-2000:]
                raise StackError(f"{child.name} exited with code {code}; its log ends:\n{tail}")

    # Run and stop ---------------------------------------------------------------------

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def wait_or_stop(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was requested. Raises if a component died."""
        self._check_children()
        return self._stop.wait(seconds)

    def wait(self) -> int:
        """Block until a stop is requested (0) or a component dies (1)."""
        while not self._stop.wait(0.5):
            try:
                self._check_children()
            except StackError as exc:
                log.error("%s", exc)
                return 1
        return 0

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the children in reverse start order, then the broker."""
        for child in reversed(self._children):
            if child.proc.poll() is None:
                child.proc.terminate()
                try:
                    child.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %ss: killing it", child.name, timeout)
                    child.proc.kill()
                    child.proc.wait()
            log.info("stopped %s", child.name, extra={"code": child.proc.returncode})
        self._children.clear()
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        path = state_path(self.settings)
        if self.state is not None and path.exists():
            path.unlink()
        self.state = None
