"""The worker and the API refuse to start on a database behind the code's migrations, and
say which command fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import env_without_settings, run_cli


@pytest.mark.parametrize("command", ["worker", "api"])
def test_a_process_on_an_unmigrated_database_stops_and_names_the_fix(
    command: str, tmp_path: Path
) -> None:
    env = env_without_settings() | {
        "VISIONTRACK_DATA_DIR": str(tmp_path),
        "VISIONTRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'vt.db'}",
        # Nothing listens there: a worker that went past the check fails on it instead.
        "VISIONTRACK_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "VISIONTRACK_API_PORT": "0",  # any free port, were it to get that far
    }
    done = run_cli(command, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    last_line = done.stderr.splitlines()[-1]
    assert last_line.startswith("visiontrack: the database schema is at migration none, the code")
    assert last_line.endswith(": run `visiontrack db upgrade`")
