"""The ``visiontrack`` command run as a user runs it: a child process of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 300, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``visiontrack ARGS`` with ``env``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "visiontrack.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def env_without_settings() -> dict[str, str]:
    """This process's environment without any ``VISIONTRACK_*`` setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VISIONTRACK_")}
