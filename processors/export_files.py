"""Files of model exports, shared by the detector's, the MobileNetV2 embedder's and the
re-id network's INT8 one.

An export sits in ``<data dir>/models`` with a JSON card beside it that records, among what
made it, the SHA-256 of the weights it came from: an export is current while its source's
hash still matches, and is made again otherwise. A new export is built in a scratch
directory and moved into place before its card is written, so a half-made export never has
a card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "card_path",
    "file_sha256",
    "is_current",
    "nncf_warnings_only",
    "put_in_place",
    "write_card",
]

log = logging.getLogger(__name__)


def card_path(export: Path) -> Path:
    """Where the card of ``export`` (a file or a directory) lives."""
    return export.with_name(export.name + ".json")


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def is_current(export: Path, source: Path, made_with: Mapping[str, Any] | None = None) -> bool:
    """Whether ``export`` exists with a card recording ``source``'s present hash and, for
    each entry of ``made_with``, the same value (an export made otherwise is made again)."""
    card_file = card_path(export)
    if not (export.exists() and card_file.is_file()):
        return False
    card = json.loads(card_file.read_text())
    if card.get("source_sha256") != file_sha256(source):
        log.info("weights %s changed since %s was exported: exporting again", source, export)
        return False
    for key, value in (made_with or {}).items():
        if card.get(key) != value:
            log.info(
                "%s was made with %s %r, not %r: exporting again", export, key, card.get(key), value
            )
            return False
    return True


def put_in_place(made: Path, target: Path) -> None:
    """Move a finished export (file or directory) to ``target``, replacing an older one."""
    if target.is_dir():
        shutil.rmtree(target)
    target.unlink(missing_ok=True)
    shutil.move(made, target)


def write_card(export: Path, card: dict[str, Any]) -> None:
    """Write ``card`` (which must hold ``source_sha256``) beside ``export``."""
    card_path(export).write_text(json.dumps(card, indent=2) + "\n")


def nncf_warnings_only() -> None:
    """NNCF logs every layer it leaves unquantized (a hundred lines) at INFO through a
    handler of its own, and sets that level when imported: keep its warnings only."""
    import nncf  # type: ignore[import-untyped]

    nncf.set_log_level(logging.WARNING)
