"""Shared pieces of the command modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, Protocol

from visiontrack.settings import Settings

Handler = Callable[[Settings, argparse.Namespace], int]


class Add(Protocol):
    """Registers a subcommand: ``add(name, handler, help, into=subparsers)``."""

    def __call__(
        self, name: str, handler: Handler, help_: str, into: Any = ...
    ) -> argparse.ArgumentParser: ...


def out(text: str = "") -> None:
    """User-facing output of the CLI."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
