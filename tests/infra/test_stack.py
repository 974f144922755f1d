"""``visiontrack up/status/down`` as a user runs them: real processes, real ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.broker import free_port
from tests.cli import env_without_settings, run_cli
from visiontrack.runtime import pid_alive

pytestmark = pytest.mark.integration


def _cli(*args: str, env: dict[str, str], check: bool = False) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, timeout=120, check=check)


def _status(env: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_cli("status", "--json", env=env).stdout)
    return result


def _wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = env_without_settings()
    return env | {
        "VISIONTRACK_DATA_DIR": str(tmp_path / "data"),
        "VISIONTRACK_API_PORT": str(free_port()),
        "VISIONTRACK_DASHBOARD_PORT": str(free_port()),
        "VISIONTRACK_BROKER_SESSION_TIMEOUT_S": "6",
    }


@pytest.fixture
def running_stack(stack_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    with (tmp_path / "up.log").open("w") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "visiontrack.cli", "up"],
            env=stack_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_until(
            lambda: up.poll() is not None or _status(stack_env).get("api_healthy") is True,
            180,
            "a healthy stack",
        )
        assert up.poll() is None, (tmp_path / "up.log").read_text()
        yield up
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def test_status_reports_nothing_running_before_up(stack_env: dict[str, str]) -> None:
    result = _cli("status", env=stack_env)
    assert result.returncode == 3
    assert "not running" in result.stdout


def test_up_status_down_leaves_no_process(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    status = _status(stack_env)
    assert status["running"] and status["bundled_broker"]
    assert set(status["components"]) == {"broker", "worker", "api"}
    assert all(status["components"].values())
    state = json.loads((Path(stack_env["VISIONTRACK_DATA_DIR"]) / "run/stack.json").read_text())

    down = _cli("down", env=stack_env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert running_stack.wait(30) == 0
    assert not any(pid_alive(pid) for pid in state["children"].values())
    assert _status(stack_env)["running"] is False


def test_killed_supervisor_leaves_no_orphans(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str]
) -> None:
    children = _status(stack_env)["components"]
    state = json.loads((Path(stack_env["VISIONTRACK_DATA_DIR"]) / "run/stack.json").read_text())
    assert set(children) == set(state["children"])
    os.kill(running_stack.pid, signal.SIGKILL)
    running_stack.wait()
    _wait_until(
        lambda: not any(pid_alive(pid) for pid in state["children"].values()),
        30,
        "the children to exit after their supervisor died",
    )


def test_a_bad_setting_stops_the_cli_with_its_name(stack_env: dict[str, str]) -> None:
    env = stack_env | {"VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS": "localhost"}
    result = _cli("up", env=env)
    assert result.returncode == 2
    assert "VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_model_stops_up_before_anything_starts(stack_env: dict[str, str]) -> None:
    env = stack_env | {"VISIONTRACK_MODEL": "/nonexistent/weights.pt"}
    result = _cli("up", env=env)
    assert result.returncode == 1
    assert "model file not found: /nonexistent/weights.pt" in result.stderr
    assert "VISIONTRACK_MODEL" in result.stderr


def test_missing_reid_weights_stop_up_before_anything_starts(stack_env: dict[str, str]) -> None:
    env = stack_env | {"VISIONTRACK_EMBEDDER": "/nonexistent/reid.pt"}
    result = _cli("up", env=env)
    assert result.returncode == 1
    assert "re-identification weights not found: /nonexistent/reid.pt" in result.stderr
    assert "VISIONTRACK_EMBEDDER" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (Path(env["VISIONTRACK_DATA_DIR"]) / "run/stack.json").exists()
