"""Exec a command that dies with its parent: ``python -m infra.orphan_guard PID -- CMD ...``.

Sets ``PR_SET_PDEATHSIG`` (kept across exec) so the kernel sends SIGTERM to the command
when the supervising process ``PID`` dies, even by SIGKILL: no orphan is left behind.
On other systems it just execs the command.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

__all__ = ["guarded"]

_PR_SET_PDEATHSIG = 1


def guarded(command: Sequence[str], parent_pid: int | None = None) -> list[str]:
    """``command`` wrapped so that it dies with ``parent_pid`` (default: this process)."""
    pid = os.getpid() if parent_pid is None else parent_pid
    return [sys.executable, "-m", "infra.orphan_guard", str(pid), "--", *command]


def main(argv: Sequence[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: python -m infra.orphan_guard PARENT_PID -- COMMAND [ARG ...]\n")
        raise SystemExit(2)
    parent, command = int(argv[0]), list(argv[2:])
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the death signal was armed
            raise SystemExit(1)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
