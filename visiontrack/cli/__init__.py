"""``visiontrack``: the command line. Each subcommand is a thin edge over the packages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from visiontrack.cli import jobs, produce, scenes, stack
from visiontrack.cli._common import Handler
from visiontrack.logging import configure_logging
from visiontrack.settings import SettingsError, get_settings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="visiontrack", description="VisionTrack: streaming video analytics."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, help_: str, into: Any = sub) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = into.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        return p

    for module in (stack, produce, jobs, scenes):
        module.register(sub, add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        sys.stderr.write(f"visiontrack: {exc}\n")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    handler: Handler = args.handler
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from visiontrack.errors import USER_ERRORS

        if isinstance(exc, USER_ERRORS):
            sys.stderr.write(f"visiontrack: {exc}\n")
            return 1
        raise
