"""Ultralytics set-up for machines without internet: no downloads, no telemetry."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["configure_ultralytics"]


def configure_ultralytics(config_dir: Path) -> None:
    """Must run before ``ultralytics`` is imported: it reads these at import time."""
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    from ultralytics import settings

    settings.update({"sync": False})
